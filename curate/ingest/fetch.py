"""The per-shard ingest task: fetch a shard's inputs with img2dataset, then write its manifest.

img2dataset is reader -> downloader -> writer -> distributor; curate keeps its downloader,
resizer and WebDataset writer and replaces the reader (new-URL planning, ingest/__init__.py)
and the distributor (curate's executors), so the same shard task runs on a process pool or
on Dask workers.
"""

import dataclasses
from pathlib import Path

import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.parquet as pq
from img2dataset.downloader import Downloader
from img2dataset.writer import WebDatasetSampleWriter

from curate import manifest
from curate.errors import UserError
from curate.ingest import download, records
from curate.ingest.limits import DEFAULT_MAX_BYTES
from curate.ingest.safe_resizer import DEFAULT_MAX_PIXELS, SafeResizer
from curate.workspace import Workspace

COLUMNS = ["url", "caption", "license", "source"]  # what img2dataset gets
PLAN_COLUMNS = [*COLUMNS, "error"]  # error: why the reader refused the input (then it is not fetched)


@dataclasses.dataclass(frozen=True)
class FetchOptions:
    """img2dataset's download options, under img2dataset's names."""

    image_size: int = 512
    resize_mode: str = "keep_ratio"
    resize_only_if_bigger: bool = True
    skip_reencode: bool = True
    encode_format: str = "jpg"
    encode_quality: int = 95
    min_image_size: int = 0
    max_aspect_ratio: float = float("inf")
    thread_count: int = 32
    timeout: int = 10  # seconds per download, connect to last byte (img2dataset's: per socket read)
    retries: int = 0
    number_sample_per_shard: int = 1000
    disallowed_header_directives: tuple[str, ...] = ("noai", "noimageai", "noindex", "noimageindex")
    user_agent_token: str | None = None
    max_pixels: int = DEFAULT_MAX_PIXELS
    max_bytes: int = DEFAULT_MAX_BYTES

    def __post_init__(self):
        for name in ("timeout", "max_bytes"):
            if getattr(self, name) <= 0:
                raise UserError(f"--{name.replace('_', '-')} must be positive, not {getattr(self, name)}")


def input_path(ws: Workspace, shard: str) -> Path:
    return ws.raw / f"{shard}.input.parquet"


def make_resizer(opts: FetchOptions) -> SafeResizer:
    """img2dataset's resizer for these options; an invalid combination is the user's to fix."""
    try:
        return SafeResizer(
            image_size=opts.image_size, resize_mode=opts.resize_mode, resize_only_if_bigger=opts.resize_only_if_bigger,
            encode_quality=opts.encode_quality, encode_format=opts.encode_format, skip_reencode=opts.skip_reencode,
            min_image_size=opts.min_image_size, max_aspect_ratio=opts.max_aspect_ratio, max_pixels=opts.max_pixels,
        )
    except ValueError as err:
        raise UserError(f"img2dataset options: {err}") from None


def _download(ws: Workspace, shard: str, opts: FetchOptions) -> None:
    # img2dataset deletes the shard file it is given, so it gets a copy of our plan.
    tmp = ws.raw / "_tmp" / f"{shard}.feather"
    tmp.parent.mkdir(exist_ok=True)
    plan = pq.read_table(input_path(ws, shard))
    table = plan.select(COLUMNS)
    if "error" in plan.column_names:  # refused inputs keep their place (their key) but no URL to fetch
        urls = [None if err else url for url, err in zip(plan["url"].to_pylist(), plan["error"].to_pylist())]
        table = table.set_column(0, "url", pa.array(urls, pa.string()))
    feather.write_feather(table, tmp, compression="uncompressed")
    downloader = Downloader(
        sample_writer_class=WebDatasetSampleWriter, resizer=make_resizer(opts), thread_count=opts.thread_count,
        save_caption=True, extract_exif=False, output_folder=str(ws.raw), column_list=COLUMNS,
        timeout=opts.timeout, number_sample_per_shard=opts.number_sample_per_shard,
        oom_shard_count=records.SHARD_DIGITS, compute_hash=None, verify_hash_type=None,
        encode_format=opts.encode_format, retries=opts.retries, user_agent_token=opts.user_agent_token,
        disallowed_header_directives=list(opts.disallowed_header_directives) or None,
    )
    # download_shard, not __call__: __call__ swallows errors, and we want the executor to retry.
    downloader.download_shard((int(shard), str(tmp)))


def ingest_shard(root: str, opts: FetchOptions, shard: str) -> int:
    """Fetch one planned shard (unless its raw output is complete) and write its images partition."""
    ws = Workspace(Path(root))
    download.install(opts.max_bytes)
    if not records.raw_complete(ws, shard):
        _download(ws, shard, opts)
    rows, hashes = records.image_rows(ws, shard, pq.read_table(input_path(ws, shard)).to_pylist(),
                                      opts.number_sample_per_shard)
    # images last: its partition is what marks the shard done.
    manifest.write_partition(ws, "hashes", shard, hashes)
    manifest.write_partition(ws, "images", shard, rows)
    return len(rows)
