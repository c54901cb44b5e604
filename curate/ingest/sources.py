"""Readers: turn a URL list, a folder or a tar/WebDataset archive into input rows.

Every input row is a dict with `url`, `caption`, `license`, `source`, and `error` when the
reader refuses the input (it is then a row with that reason, never fetched). Folders become
file:// URLs and archive members tar: URLs (see tar_urls.py), so every source is fetched by the
same img2dataset downloader. Every list row is an input, an empty URL included.
"""

import json
import logging
import os
import posixpath
import stat
import tarfile
from pathlib import Path

import duckdb

from curate.errors import UserError
from curate.ingest.limits import LimitExceeded, file_kind, open_regular
from curate.ingest.tar_urls import member_url, safe_member_name

log = logging.getLogger(__name__)

# Formats that get a row; those no installed decoder reads (svg, heic, jxl) as unsupported_format.
IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff", ".avif", ".ico",
                    ".svg", ".heic", ".heif", ".jxl"}
SIDECAR_BYTES = 1 << 20
CAPTION_COLUMNS = ("caption", "text", "alt", "alt_text", "title")
LIST_READERS = {
    ".csv": "read_csv(?, all_varchar=true)",
    ".tsv": "read_csv(?, all_varchar=true, delim='\t')",
    ".jsonl": "read_json(?, format='newline_delimited')",
    ".json": "read_json(?)",
    ".parquet": "read_parquet(?)",
}


def parse_sidecar(suffix: str, text: str) -> tuple[str | None, str | None]:
    """(caption, license) from a .txt/.caption file (the text) or a .json file (its usual keys)."""
    if suffix != ".json":
        return text.strip() or None, None
    try:
        data = json.loads(text)
        caption = next((str(data[c]) for c in CAPTION_COLUMNS if data.get(c)), None)
        return caption, data.get("license")
    except (ValueError, AttributeError):
        log.warning("ignoring a sidecar that is not a JSON object")
        return None, None


def read_url_list(path, url_col="url", caption_col=None, license_col="license") -> list[dict]:
    """A csv/tsv/jsonl/json/parquet table with a URL column, or a .txt of one URL per line."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"URL list {path} does not exist")
    if not path.is_file():
        raise UserError(f"URL list {path} is {file_kind(path.stat().st_mode)}, not a regular file")
    source = f"urls:{path.resolve()}"
    if path.suffix == ".txt":
        lines = [line.strip() for line in path.read_text(errors="replace").splitlines()]
        urls = [u for u in lines if u]
        if len(urls) < len(lines):
            log.info("URL list %s: %d blank lines are not inputs", path, len(lines) - len(urls))
        return [{"url": u, "caption": None, "license": None, "source": source} for u in urls]
    if path.suffix not in LIST_READERS:
        raise UserError(f"URL list {path}: unknown format {path.suffix!r}; use one of .txt {' '.join(LIST_READERS)}")
    try:
        rel = duckdb.sql(f"SELECT * FROM {LIST_READERS[path.suffix]}", params=[str(path)])
        table = rel.to_arrow_table()
    except duckdb.Error as err:
        raise UserError(f"URL list {path}: {str(err).splitlines()[0]}") from None
    columns = table.column_names
    if url_col not in columns:
        raise UserError(f"URL list {path} has no {url_col!r} column (columns: {', '.join(columns)}); pass --url-col")
    caption_col = caption_col or next((c for c in CAPTION_COLUMNS if c in columns), None)
    if caption_col and caption_col not in columns:
        raise UserError(f"URL list {path} has no {caption_col!r} column (columns: {', '.join(columns)})")

    def column(name):
        return [None if v is None else str(v) for v in table.column(name).to_pylist()] if name in columns else [None] * len(table)

    # An empty or malformed URL is still an input: the fetch makes it a row with the reason.
    return [
        {"url": u or "", "caption": c, "license": lic, "source": source}
        for u, c, lic in zip(column(url_col), column(caption_col), column(license_col))
    ]


def refusal(path: Path, root: Path, follow_links: bool) -> str | None:
    """Why a folder entry is not read: not a regular file (a FIFO would hang the read, a device
    never ends), or a link leading outside the folder (unless follow_links)."""
    try:
        mode = path.lstat().st_mode
        if stat.S_ISLNK(mode):
            target = Path(os.path.realpath(path))
            if not follow_links and not target.is_relative_to(root):
                return f"symbolic link to {target}, outside the folder: refused (--follow-links follows it)"
            mode = path.stat().st_mode
    except FileNotFoundError:
        return "broken symbolic link"
    except OSError as err:
        return f"cannot stat: {err}"
    if not stat.S_ISREG(mode):
        return f"{file_kind(mode)}, not a regular file: refused"
    return None


def _sidecar(image: Path, root: Path, follow_links: bool) -> tuple[str | None, str | None]:
    for suffix in (".txt", ".json"):
        path = image.with_suffix(suffix)
        if os.path.lexists(path):
            problem = refusal(path, root, follow_links)
            if problem:
                log.warning("ignoring caption file %s: %s", path, problem)
                continue
            try:
                with open_regular(path) as fh:
                    return parse_sidecar(suffix, fh.read(SIDECAR_BYTES).decode("utf-8", "replace"))
            except OSError as err:
                log.warning("ignoring caption file %s: %s", path, err)
    return None, None


def _walk(root: Path, follow_links: bool):
    """os.walk in sorted order; with follow_links it enters linked folders, each real folder once."""
    seen = {os.path.realpath(root)}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=follow_links):
        dirnames.sort()
        if follow_links:
            kept = []
            for d in dirnames:
                real = os.path.realpath(os.path.join(dirpath, d))
                if real not in seen:
                    seen.add(real)
                    kept.append(d)
            dirnames[:] = kept
        else:
            links = [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]
            if links:
                log.warning("folder %s: not entering %d linked folders (--follow-links enters them)", dirpath, len(links))
        yield dirpath, sorted(filenames)


def read_folder(root, follow_links: bool = False) -> list[dict]:
    """Image files under root, recursively, in sorted order; `.txt`/`.json` beside one is its caption.

    Every entry named as an image is a row: one that is not a regular file, or a link leading
    outside root (unless follow_links), is refused with the reason instead of read."""
    root = Path(root)
    if not root.is_dir():
        raise UserError(f"folder {root} does not exist")
    root = root.resolve()
    rows, skipped = [], 0
    for dirpath, filenames in _walk(root, follow_links):
        for name in filenames:
            path = Path(dirpath) / name
            if path.suffix.lower() not in IMAGE_EXTENSIONS:
                skipped += path.suffix.lower() not in {".txt", ".json"}
                continue
            problem = refusal(path, root, follow_links)
            caption, license_ = (None, None) if problem else _sidecar(path, root, follow_links)
            rows.append({"url": path.as_uri(), "caption": caption, "license": license_, "source": f"folder:{root}",
                         "error": problem})
    if skipped:
        log.info("folder %s: skipped %d files that are not images by extension", root, skipped)
    return rows


def read_tar(archive) -> list[dict]:
    """Members of a tar or WebDataset archive, grouped by WebDataset key (name up to the first dot).

    Nothing is extracted: members are read later through tar: URLs, which refuse unsafe names
    and links, so each such member still becomes a row with a clear error.
    """
    archive = Path(archive).resolve()
    images, sidecars = {}, {}
    try:
        with open_regular(archive) as fh, tarfile.open(fileobj=fh) as tf:
            for info in tf:
                # WebDataset key: the member path up to the first dot of its file name.
                key = posixpath.join(posixpath.dirname(info.name), posixpath.basename(info.name).partition(".")[0])
                suffix = posixpath.splitext(info.name)[1].lower()
                if suffix in IMAGE_EXTENSIONS:
                    images.setdefault(key, info.name)
                elif suffix in {".txt", ".json", ".caption"} and info.isfile() and safe_member_name(info.name):
                    sidecars[key] = (suffix, tf.extractfile(info).read(SIDECAR_BYTES).decode("utf-8", "replace"))
    except LimitExceeded as err:
        raise UserError(f"archive {err}") from None
    except (OSError, tarfile.TarError) as err:
        raise UserError(f"archive {archive}: not a readable tar archive ({type(err).__name__})") from None
    rows = []
    for key, name in images.items():
        caption, license_ = parse_sidecar(*sidecars[key]) if key in sidecars else (None, None)
        rows.append({"url": member_url(archive, name), "caption": caption, "license": license_,
                     "source": f"tar:{archive}"})
    return rows
