"""The `curate` command: every user-facing verb (docs/contracts.md section 1)."""

import argparse
import copy
import dataclasses
import glob
import json
import logging
import os
import sys

import curate
from curate import progress
from curate.options import COSINE, COUNT, POSITIVE, SHARE, THRESHOLD, integer, number
from curate.embedders import DEFAULT as DEFAULT_EMBEDDER
from curate.errors import UserError

log = logging.getLogger("curate")


def _add_executor_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--scheduler", metavar="SPEC", help="where per-shard tasks run: 'local' (process pool, "
                   "default), 'local:N' (a Dask LocalCluster of N workers) or 'tcp://host:8786' (a Dask cluster)")
    p.add_argument("--processes-count", type=POSITIVE, metavar="N", help="local pool size (default: all cores)")


def _add_fetch_args(p: argparse.ArgumentParser) -> None:
    from curate.ingest.fetch import FetchOptions

    d = FetchOptions()
    g = p.add_argument_group("img2dataset options (same names and meaning as img2dataset's)")
    g.add_argument("--image-size", type=POSITIVE, default=d.image_size)
    g.add_argument("--resize-mode", default=d.resize_mode,
                   choices=["no", "keep_ratio", "keep_ratio_largest", "center_crop", "border"])
    g.add_argument("--resize-only-if-bigger", action=argparse.BooleanOptionalAction, default=d.resize_only_if_bigger)
    g.add_argument("--skip-reencode", action=argparse.BooleanOptionalAction, default=d.skip_reencode,
                   help="keep the original bytes of a JPEG that needs no resize")
    g.add_argument("--encode-format", default=d.encode_format, choices=["jpg", "png", "webp"])
    g.add_argument("--encode-quality", type=integer(0, 100), default=d.encode_quality,
                   help="JPEG/WebP quality 0-100; PNG compression level 0-9")
    g.add_argument("--min-image-size", type=COUNT, default=d.min_image_size)
    g.add_argument("--max-aspect-ratio", type=number(1), default=d.max_aspect_ratio)
    g.add_argument("--thread-count", type=POSITIVE, default=d.thread_count, help="download threads per process")
    g.add_argument("--timeout", type=POSITIVE, default=d.timeout,
                   help="seconds per download, whole (connect to last byte; img2dataset's is per socket read)")
    g.add_argument("--retries", type=COUNT, default=d.retries)
    g.add_argument("--number-sample-per-shard", type=POSITIVE, default=d.number_sample_per_shard)
    g.add_argument("--disallowed-header-directives", default=",".join(d.disallowed_header_directives),
                   help="X-Robots-Tag directives that make a URL skipped (comma-separated); '' honours none")
    g.add_argument("--user-agent-token", default=d.user_agent_token)
    g.add_argument("--max-pixels", type=POSITIVE, default=d.max_pixels,
                   help="refuse images whose header declares more pixels (decompression bombs)")
    g.add_argument("--max-bytes", type=POSITIVE, default=d.max_bytes,
                   help="refuse a body, file or archive member larger than this (bytes)")


def fetch_options(args):
    from curate.ingest.fetch import FetchOptions

    directives = tuple(x.strip() for x in args.disallowed_header_directives.split(",") if x.strip())
    names = [f.name for f in dataclasses.fields(FetchOptions) if f.name != "disallowed_header_directives"]
    return FetchOptions(disallowed_header_directives=directives, **{n: getattr(args, n) for n in names})


def cmd_ingest(args) -> None:
    from curate.executors import make_executor
    from curate.ingest import check, ingest
    from curate.ingest.sources import read_folder, read_tar, read_url_list
    from curate.workspace import Workspace

    if args.urls:
        inputs = read_url_list(args.urls, args.url_col, args.caption_col, args.license_col)
    elif args.folder:
        inputs = read_folder(args.folder, args.follow_links)
    else:
        archives = sorted(glob.glob(args.tar))
        if not archives:
            raise UserError(f"--tar {args.tar}: no archive matches")
        inputs = [row for archive in archives for row in read_tar(archive)]
    opts = fetch_options(args)
    params = {"urls": args.urls, "folder": args.folder, "tar": args.tar, "follow_links": args.follow_links}
    check(inputs, opts, params)
    ws = Workspace.create(args.dataset)
    summary = ingest(ws, inputs, opts, make_executor(args.scheduler, args.processes_count), params)
    print(json.dumps(summary))


def cmd_embed(args) -> None:
    from curate.embed import embed
    from curate.executors import make_executor
    from curate.workspace import Workspace

    workers = args.processes_count or 1  # one process: the model already uses every core
    summary = embed(Workspace.open(args.dataset), args.embedder, make_executor(args.scheduler, workers), workers,
                    args.index)
    print(json.dumps({k: v for k, v in summary.items() if k != "index"} | {"index_images": summary["index"].get("count")}))


def cmd_dedupe(args) -> None:
    from curate.dedupe import dedupe
    from curate.dedupe.report import write_report
    from curate.dedupe.tiers import Thresholds
    from curate.executors import make_executor
    from curate.workspace import Workspace

    ws = Workspace.open(args.dataset)
    thresholds = Thresholds(semantic=args.threshold, candidate=args.candidate_threshold,
                            phash_radius=args.perceptual_bits, dhash_radius=args.dhash_bits,
                            pixel_region=args.pixel_region)
    summary = dedupe(ws, args.embedder, thresholds, args.keep, args.mode,
                     make_executor(args.scheduler, args.processes_count or 1), args.overwrite)
    page = ws.root / "reports" / "dedupe.html"
    if args.report:  # an up-to-date table's page is left as it is
        summary["report"] = str(page if summary.get("up_to_date") and page.is_file() else write_report(ws, summary))
    print(json.dumps(summary))


def cmd_caption(args) -> None:
    from curate.caption import caption, parse_detectors
    from curate.executors import make_executor
    from curate.workspace import Workspace

    ws = Workspace.open(args.dataset)
    summary = caption(ws, make_executor(args.scheduler, args.processes_count), parse_detectors(args.detectors), args.vlm,
                      args.kept_only, args.overwrite)
    if args.report:
        from curate.caption.sheet import write_sheet

        summary["report"] = str(write_sheet(ws))
    print(json.dumps({k: v for k, v in summary.items() if k not in ("seconds", "task_seconds")}))


def cmd_score(args) -> None:
    from curate.executors import make_executor
    from curate.score.stage import score
    from curate.workspace import Workspace

    ws = Workspace.open(args.dataset)
    aesthetic = (args.aesthetic, args.embedder) if args.aesthetic else None
    summary = score(ws, make_executor(args.scheduler, args.processes_count), aesthetic)
    if args.report:
        from curate.score.report import write_report

        summary["report"] = str(write_report(ws))
    print(json.dumps({k: v for k, v in summary.items() if k not in ("seconds", "task_seconds")}))


def cmd_shard(args) -> None:
    from curate.shard import cut
    from curate.workspace import Workspace

    print(json.dumps(cut(Workspace.open(args.dataset), args.where, args.name, args.per_shard)))


def cmd_train(args) -> None:
    from curate.workspace import Workspace
    from curate.train_config import TrainConfig
    from curate_model.distributed import is_main
    from curate_model.train import train

    names = [f.name for f in dataclasses.fields(TrainConfig)]
    cfg = TrainConfig(**{n: getattr(args, n) for n in names if getattr(args, n, None) is not None})
    result = train(Workspace.open(args.dataset), args.out, cfg, resume=args.resume, overwrite=args.overwrite)
    if is_main():  # one line for a launch of several processes
        print(json.dumps(result))


def cmd_sample(args) -> None:
    from curate_model.sample import parse_seeds, sample

    prompts = [args.prompt] if args.prompt else []
    if args.prompts:
        try:
            prompts += [line.strip() for line in open(args.prompts) if line.strip()]
        except OSError as err:
            raise UserError(f"--prompts {args.prompts}: {err.strerror}") from None
    print(json.dumps(sample(args.model_dir, prompts, parse_seeds(args.seeds), args.out, args.negative,
                            args.guidance, args.steps, args.scheduler, args.overwrite, lora=args.lora,
                            lora_scale=args.lora_scale)))


def cmd_query(args) -> None:
    from curate.query import run_query
    from curate.workspace import Workspace

    run_query(Workspace.open(args.dataset), args.sql, args.format, args.out)


def cmd_audit(args) -> None:
    from curate.audit import audit
    from curate.audit.verdict import Thresholds
    from curate.workspace import Workspace

    thresholds = Thresholds(copy_tile_l2=args.copy_tile_l2, copy_coarse_l2=args.copy_coarse_l2,
                            copy_structure=args.copy_structure, copy_similarity=args.copy_similarity,
                            near_similarity=args.near_similarity)
    print(json.dumps(audit(Workspace.open(args.dataset), args.samples, args.out, args.embedder, args.k, thresholds,
                           text_noise=not args.no_text_noise, against=args.against, model_dir=args.model,
                           overwrite=args.overwrite)))


def cmd_demo(args) -> None:
    from curate.demo import run_demo

    run_demo(args.out, args.scheduler, args.processes_count)


def cmd_run(args) -> None:
    from curate.run_config import run

    only = [s.strip() for s in args.stages.split(",") if s.strip()] if args.stages else None
    run(args.config, build_parser(strict=True), only, args.scheduler)


def cmd_bench(args) -> None:
    from curate.bench import run_bench

    run_bench(args.name, args)


class _HelpFormatter(argparse.HelpFormatter):
    """--help shows each option's default where it has one and its help does not already say."""

    def _format_action(self, action):
        if action.help is None and _shows_default(action):  # argparse lists no line for an option without help
            action = copy.copy(action)
            action.help = "(default: %(default)s)"
        return super()._format_action(action)

    def _get_help_string(self, action):
        text = action.help or ""
        return text + " (default: %(default)s)" if _shows_default(action) and "default" not in text else text


def _shows_default(action) -> bool:
    return (bool(action.option_strings) and action.default not in (None, "", argparse.SUPPRESS)
            and not isinstance(action.default, bool))


class _Parser(argparse.ArgumentParser):
    """Every verb's parser (subparsers take the class of their parent): defaults in --help, and a
    bad argument is one line and exit 2, like every other error a user can make."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", _HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


class _StrictParser(_Parser):
    """For options read from a config file: argparse's complaint becomes a UserError (one line,
    exit 2) instead of a usage message about a command line nobody typed."""

    def error(self, message):
        raise UserError(message)


def build_parser(strict: bool = False) -> argparse.ArgumentParser:
    parser = (_StrictParser if strict else _Parser)(
        prog="curate",
        description="Assemble text-to-image training sets and check that a model trained on them does not copy: "
                    "ingest, embed, dedupe, caption and shard images, query their Parquet manifests with DuckDB, "
                    "train and sample the bundled diffusion model, audit its samples.",
        epilog="Every verb takes --help. A DATASET is a folder (the workspace); stages write manifests/<table>/.",
    )
    quiet_help = "no progress bars, warnings only (ours and the libraries')"
    parser.add_argument("-q", "--quiet", action="store_true", help=quiet_help)
    parser.add_argument("--version", action="version", version=f"curate {curate.__version__}")
    sub = parser.add_subparsers(dest="verb", required=True, metavar="VERB")

    p = sub.add_parser("demo", help="the whole pipeline on the bundled corpus, offline",
                       description="Serve the bundled corpus on 127.0.0.1, scrape it with img2dataset and run "
                                   "every stage on it.")
    p.add_argument("--out", default="curate-demo", help="dataset folder to write (default: ./curate-demo)")
    _add_executor_args(p)
    p.set_defaults(fn=cmd_demo)

    from curate.run_config import STAGES

    p = sub.add_parser("run", help="the stages of a YAML config, in pipeline order",
                       description="Run the stages a YAML file lists (" + ", ".join(STAGES) + ") on its dataset, "
                                   "in that order, each with the options its verb takes (named as the flags, "
                                   "'-' or '_'). Every option is checked before the first stage starts; every "
                                   "stage skips finished work, so a rerun resumes.",
                       epilog="example config: dataset: ds; stages: {ingest: {urls: list.csv}, embed: {}, "
                              "dedupe: {}, train: {out: model}} (README 'Run a config')")
    p.add_argument("config", metavar="CONFIG.yaml")
    p.add_argument("--stages", metavar="LIST", help="comma-separated subset of the config's stages to run")
    p.add_argument("--scheduler", metavar="SPEC", help="overrides the config's scheduler for per-shard stages")
    p.set_defaults(fn=cmd_run)

    p = sub.add_parser("ingest", help="add images from URL lists, folders or tar/WebDataset archives",
                       description="Fetch images into DATASET/raw (WebDataset shards) and write manifests/images: "
                                   "one row per input, failures included. Inputs already ingested are skipped, so "
                                   "rerunning after adding URLs fetches only the new ones; a killed run resumes.")
    p.add_argument("dataset")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--urls", metavar="FILE", help="URL list: .txt (one per line), .csv, .tsv, .jsonl, .json, .parquet")
    src.add_argument("--folder", metavar="DIR", help="image files under DIR; a .txt/.json beside one is its caption")
    src.add_argument("--tar", metavar="GLOB", help="tar or WebDataset archives (members are read, never extracted)")
    p.add_argument("--url-col", default="url", help="URL column of the list (default: url)")
    p.add_argument("--caption-col", help="caption column (default: the first of caption, text, alt, alt_text, title)")
    p.add_argument("--license-col", default="license", help="license column, when the list has one")
    p.add_argument("--follow-links", action="store_true",
                   help="--folder: read symbolic links that lead outside DIR and enter linked folders "
                        "(refused by default, each link a row with the reason)")
    _add_executor_args(p)
    _add_fetch_args(p)
    p.set_defaults(fn=cmd_ingest)

    p = sub.add_parser("embed", help="a vector per image (manifests/embeddings) and the FAISS index",
                       description="Embed every stored image with EMBEDDER, write manifests/embeddings, then add "
                                   "the new vectors to index/<embedder>.faiss. Shards already embedded with "
                                   "EMBEDDER are skipped.")
    p.add_argument("dataset")
    p.add_argument("--embedder", default=DEFAULT_EMBEDDER,
                   help="efficientnet-lite0 (default, bundled weights), efficientnet-lite1/2, "
                        "open_clip:ARCH:PRETRAINED (hub tag, weights file or local-dir:DIR), hf:LOCAL_DIR")
    p.add_argument("--index", choices=("auto", "flat", "ivf", "ivf-sq4"), default="auto",
                   help="the FAISS index: flat (exact, in memory), ivf (8-bit codes) or ivf-sq4 (4-bit codes), "
                        "both with their lists on disk and built as tasks; auto: flat up to 100k images, then "
                        "ivf, and an index already built keeps its kind")
    _add_executor_args(p)
    p.set_defaults(fn=cmd_embed)

    from curate.dedupe.tiers import Thresholds

    d = Thresholds()
    p = sub.add_parser("dedupe", help="exact, perceptual and semantic duplicates -> manifests/duplicates",
                       description="Cluster duplicate images in three tiers: exact (identical pixels; identical "
                                   "bytes share an id), perceptual (64-bit pHash within --perceptual-bits) and "
                                   "semantic (embedding cosine, crop-aligned for uncertain pairs, >= --threshold). "
                                   "One image per cluster is kept. Needs `curate embed` first.",
                       epilog="Thresholds are calibrated on a labelled near-duplicate set: README 'Dedupe'.")
    p.add_argument("dataset")
    p.add_argument("--embedder", default=DEFAULT_EMBEDDER, help="whose vectors to compare (default: %(default)s)")
    p.add_argument("--threshold", type=THRESHOLD, default=d.semantic, help="semantic cosine (default: %(default)s)")
    p.add_argument("--candidate-threshold", type=THRESHOLD, default=d.candidate,
                   help="pairs below this cosine are never considered (default: %(default)s)")
    p.add_argument("--perceptual-bits", type=integer(0, 64), default=d.phash_radius,
                   help="pHash Hamming radius (default: %(default)s)")
    p.add_argument("--dhash-bits", type=integer(0, 64), default=d.dhash_radius,
                   help="dHash Hamming radius that must confirm a pHash match (default: %(default)s)")
    p.add_argument("--pixel-region", type=integer(0, 4096), default=d.pixel_region,
                   help="largest region, in pixels of 64x64 thumbnails, on which two aligned images may disagree "
                        "and still be duplicates (default: %(default)s)")
    p.add_argument("--keep", default="largest", choices=["largest", "earliest"],
                   help="which member to keep: largest resolution then earliest ingested, or earliest")
    p.add_argument("--mode", default="auto", choices=["auto", "exact", "kmeans"],
                   help="semantic search: exact blocks or SemDeDup-style k-means cells, as tasks "
                        "(auto: exact up to 20k images, k-means above)")
    p.add_argument("--report", action="store_true", help="write reports/dedupe.html, a contact sheet of the largest clusters")
    p.add_argument("--overwrite", action="store_true",
                   help="dedupe again with other settings than those manifests/duplicates was made with "
                        "(without it a change of settings is refused; the same settings on the same images "
                        "do nothing)")
    _add_executor_args(p)
    p.set_defaults(fn=cmd_dedupe)

    p = sub.add_parser("caption", help="dense hierarchical captions from detectors -> manifests/captions",
                       description="Caption every stored image: objects with counts (NanoDet, COCO-80) and their "
                                   "fine names (the ImageNet head of EfficientNet-Lite0), people, faces, bodies, arms, "
                                   "hands and extended fingers (mediapipe, hand-tracker proposals), text in the image "
                                   "(rapidocr), and the medium. Counts come only from detectors; what they could not "
                                   "settle is listed under 'uncertain'. Writes a struct per image (docs/contracts.md "
                                   "section 4) plus 'short' and 'dense' caption strings for training. Shards already "
                                   "captioned are skipped; captions by other detectors or another VLM are refused "
                                   "unless --overwrite.")
    p.add_argument("dataset")
    p.add_argument("--detectors", metavar="LIST",
                   help="comma-separated subset of objects,labels,people,hands,text (default: all)")
    p.add_argument("--vlm", metavar="LOCAL_DIR", help="a transformers image-text-to-text checkpoint folder (BLIP, GIT, "
                   "Florence-2, LLaVA, Qwen2-VL...) that writes the summary, prompted with the detector facts; "
                   "loaded offline. Without it the summary is a template over the facts and the original text")
    p.add_argument("--kept-only", action="store_true", help="caption only the images dedupe kept (what training "
                   "reads); a later run without it does not fill in the rest")
    p.add_argument("--report", action="store_true", help="write reports/captions.html: images beside their "
                   "captions, with object, person, hand and text boxes drawn")
    p.add_argument("--overwrite", action="store_true", help="caption every shard again (without it, shards already "
                   "captioned are skipped, and captions made by other detectors or another VLM are refused)")
    _add_executor_args(p)
    p.set_defaults(fn=cmd_caption)

    p = sub.add_parser("score", help="filter scores as columns: nsfw, quality, text_area, sharpness, blur -> manifests/scores",
                       description="Score every stored image: nsfw and its class probabilities (nsfwjs MobileNetV2), "
                                   "quality (BRISQUE, lower is better), text_area (share of the image in OCR text "
                                   "boxes; the caption stage's boxes where it ran), sharpness (variance of Laplacian) "
                                   "and blur (0-1), each with the model that made it. Nothing is deleted: pick with "
                                   "`curate shard --where`. Shards already scored are skipped.",
                       epilog="example: curate shard DATASET --where \"nsfw < 0.2 AND quality < 40 AND text_area < 0.05\"")
    p.add_argument("dataset")
    p.add_argument("--report", action="store_true", help="write reports/scores.html: a histogram per score and "
                   "example images at several levels, to pick thresholds")
    p.add_argument("--aesthetic", metavar="HEAD.pth", help="opt-in, never default: an aesthetic column from your own "
                   "head (a torch state dict of Linear layers, e.g. LAION's improved aesthetic predictor) over the "
                   "vectors of --embedder; none ships with curate")
    p.add_argument("--embedder", default=DEFAULT_EMBEDDER, help="--aesthetic: whose stored vectors the head reads "
                   "(default: %(default)s; LAION's heads need open_clip:ViT-L-14:openai)")
    _add_executor_args(p)
    p.set_defaults(fn=cmd_score)

    from curate.shard import DEFAULT_SET, PER_SHARD
    from curate.train_config import TrainConfig

    p = sub.add_parser("shard", help="curated WebDataset training shards of the images a query picks",
                       description="Write the stored images that pass --where (status ok, one per distinct image, "
                                   "kept by dedupe when it has run) with their captions to shards/<name>/NNNNN.tar "
                                   "(<key>.jpg|png|webp, <key>.txt short caption, <key>.json id, short and dense "
                                   "captions, url, license) and manifests/train_shards. A rerun with the same query "
                                   "and manifests writes nothing; a changed selection replaces the set.",
                       epilog="example: curate shard DATASET --where \"hands > 0 AND width >= 256\"")
    p.add_argument("dataset")
    p.add_argument("--where", default="true", metavar="SQL_PREDICATE",
                   help="over the columns of images, plus keep, cluster_size (dedupe), people, faces, hands, "
                        "fingers, text_in_image (captions) and nsfw, nsfw_<class>, quality, text_area, sharpness, "
                        "blur (score); default: all")
    p.add_argument("--name", default=DEFAULT_SET, help="the set: shards/<name>/ (default: %(default)s)")
    p.add_argument("--per-shard", type=integer(1, 9999), help=f"images per tar (default: the set's, else {PER_SHARD})")
    p.set_defaults(fn=cmd_shard)

    t = TrainConfig()
    p = sub.add_parser("train", help="train the bundled text-to-image model on curated shards picked by a query",
                       description="Train CuratePipeline (diffusers UNet + frozen MiniLM text encoder) on a curated "
                                   "shard set: the one --where selects (cut first, as `curate shard` does, when it "
                                   "is missing or stale), or the set `curate shard` cut. Writes a diffusers folder "
                                   "with a model card, loss.png and checkpoints/.",
                       epilog="example: curate train DATASET --out model --where \"width >= 256\" --steps 2000")
    p.add_argument("dataset")
    p.add_argument("--out", required=True, metavar="MODEL_DIR", help="the model folder (relative to the current folder)")
    p.add_argument("--where", metavar="SQL_PREDICATE",
                   help="as for `curate shard`; default: the query the shard set was cut with, else all")
    p.add_argument("--shards", metavar="NAME", default=t.shards, help="the shard set to train on")
    p.add_argument("--preset", choices=["tiny", "small", "base"], default=t.preset, help="model size (tiny: for CPU)")
    p.add_argument("--steps", type=POSITIVE, default=t.steps)
    p.add_argument("--resolution", type=integer(8), help="pixels (default: the preset's)")
    p.add_argument("--batch-size", type=POSITIVE, help="images per micro-batch (default: the preset's)")
    p.add_argument("--learning-rate", type=number(0, low_open=True), help="(default: the preset's)")
    p.add_argument("--grad-accum", type=POSITIVE, default=t.grad_accum, help="micro-batches per optimizer step")
    p.add_argument("--caption-dropout", type=SHARE, default=t.caption_dropout, help="share of captions replaced by ''")
    p.add_argument("--dense-ratio", type=SHARE, default=t.dense_ratio, help="share of dense (vs short) captions")
    p.add_argument("--ema-decay", type=number(0, 1, high_open=True), default=t.ema_decay)
    p.add_argument("--checkpoint-every", type=POSITIVE, metavar="N", default=t.checkpoint_every)
    p.add_argument("--seed", type=COUNT, default=t.seed)
    p.add_argument("--text-encoder", default=t.text_encoder, help="minilm (bundled weights) or a local transformers folder")
    p.add_argument("--vae", metavar="LOCAL_DIR", help="a diffusers AutoencoderKL folder: train in latent space")
    p.add_argument("--base", metavar="LOCAL_DIR", help="start from a pretrained folder: a diffusers Stable Diffusion "
                   "checkpoint or a curate model (its own VAE, text encoder and schedule)")
    p.add_argument("--lora", type=int, metavar="RANK", help="train rank-RANK LoRA adapters on --base's UNet "
                   "attention instead of every weight")
    p.add_argument("--lora-text-encoder", action="store_true", default=None,
                   help="with --lora: adapters on the CLIP text encoder(s) too (Stable Diffusion and SDXL bases)")
    p.add_argument("--mixed-precision", choices=["bf16", "no"],
                   help="bf16 autocast (default: on a GPU; fp32 on a CPU)")
    p.add_argument("--gradient-checkpointing", action="store_true", default=None,
                   help="recompute the UNet's activations in backward: less memory, slower steps")
    p.add_argument("--optimizer", choices=["adamw", "adamw8bit"], default=t.optimizer,
                   help="adamw8bit: bitsandbytes' 8-bit AdamW (needs bitsandbytes)")
    p.add_argument("--cache-encodings", action="store_true", default=None,
                   help="keep VAE latents and text conditioning in DATASET/cache/<set>/: later runs and --resume "
                        "read them instead of encoding again")
    p.add_argument("--region-weights", metavar="NAME=W,...",
                   help="loss weights inside the captions' boxes: hands, faces, people, text (e.g. hands=3,faces=2)")
    rerun = p.add_mutually_exclusive_group()
    rerun.add_argument("--resume", action="store_true", help="continue from the last checkpoint in MODEL_DIR")
    rerun.add_argument("--overwrite", action="store_true",
                       help="replace a model in MODEL_DIR trained on other inputs (without it: refused)")
    p.set_defaults(fn=cmd_train)

    p = sub.add_parser("sample", help="images from a trained model: prompts x seeds, contact sheet",
                       description="Sample a trained model. Writes <out>/<sample>.png, contact_sheet.png and "
                                   "manifests/samples (query it with `curate query OUT ...`).")
    p.add_argument("model_dir")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--prompt")
    src.add_argument("--prompts", metavar="FILE", help="one prompt per line")
    p.add_argument("--seeds", default="0-3", help="A-B, N or a comma list")
    p.add_argument("--negative", default="", help="negative prompt")
    p.add_argument("--guidance", type=number(0), default=3.0, help="classifier-free guidance scale")
    p.add_argument("--steps", type=integer(1, 1000), default=50, help="denoising steps")
    p.add_argument("--scheduler", choices=["ddim", "dpm"], default="ddim")
    p.add_argument("--lora", metavar="DIR", help="a `curate train --lora` folder to apply to MODEL_DIR")
    p.add_argument("--lora-scale", type=float, default=1.0, help="strength of --lora (default: 1)")
    p.add_argument("--out", required=True, help="the samples folder (relative to the current folder)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace samples of another model, prompts, seeds or settings in OUT (without it: refused)")
    p.set_defaults(fn=cmd_sample)

    from curate.audit import K as AUDIT_K
    from curate.audit.verdict import Thresholds as AuditThresholds

    d = AuditThresholds()
    p = sub.add_parser("audit", help="are samples novel, or copies of training images? -> manifests/audit, report.html",
                       description="Embed each sample with the embedder of DATASET's index, find its --k nearest "
                                   "training images in FAISS, compare pixels with Carlini's tiled L2 and give "
                                   "each pair a verdict: novel, near or copy. Writes OUT/manifests/audit and "
                                   "OUT/report.html (OUT: the samples folder unless --out).",
                       epilog="Thresholds are calibrated on the labelled near-duplicate set and a memorising "
                              "model: README 'Audit'.")
    p.add_argument("dataset")
    p.add_argument("--samples", required=True, metavar="DIR",
                   help="a `curate sample` output folder, or any folder of .png/.jpg images")
    p.add_argument("--out", metavar="DIR", help="where manifests/audit and report.html go (default: the samples folder)")
    p.add_argument("--embedder", help="the index to search (default: the one the dataset was embedded with)")
    p.add_argument("--against", choices=("training", "index"), default="training",
                   help="match against the model's training images (its shard set; the images dedupe removed "
                        "from it are shown beside) or every image in the index (default: %(default)s)")
    p.add_argument("--model", metavar="DIR",
                   help="the model the samples came from (default: the one manifests/samples names)")
    p.add_argument("--k", type=integer(1, 1000), default=AUDIT_K, help="nearest training images compared per sample (default: %(default)s)")
    p.add_argument("--copy-tile-l2", type=number(0), default=d.copy_tile_l2,
                   help="tiled L2 at or below which a sample is a copy (default: %(default)s)")
    p.add_argument("--copy-coarse-l2", type=number(0), default=d.copy_coarse_l2,
                   help="or the tiled L2 over 4x4-pixel block means (grain averaged out) (default: %(default)s)")
    p.add_argument("--copy-structure", type=number(0), default=d.copy_structure,
                   help="and that distance at most this times the training image's contrast (its pixels' std), "
                        "so flat pictures are no copies of each other (default: %(default)s)")
    p.add_argument("--copy-similarity", type=COSINE, default=d.copy_similarity,
                   help="cosine a copy needs as well (default: %(default)s)")
    p.add_argument("--near-similarity", type=COSINE, default=d.near_similarity,
                   help="cosine from which a sample is near (default: %(default)s)")
    p.add_argument("--no-text-noise", action="store_true",
                   help="skip the model-side score (first-step text-conditional noise norm)")
    p.add_argument("--overwrite", action="store_true",
                   help="audit again when OUT holds an audit of other inputs (samples, index, training set or "
                        "settings); without it that is refused, and the same audit again does nothing")
    p.set_defaults(fn=cmd_audit)

    p = sub.add_parser("query", help="SQL over the manifests (DuckDB)",
                       description="Run SQL with one view per manifest table: images, hashes, embeddings, "
                                   "duplicates, captions, scores, train_shards, runs (and samples, audit in a samples folder).",
                       epilog="example: curate query DATASET \"SELECT status, count(*) FROM images GROUP BY 1\"")
    p.add_argument("dataset")
    p.add_argument("sql")
    p.add_argument("--format", default="table", choices=["table", "csv", "json", "parquet"])
    p.add_argument("--out", metavar="FILE", help="write here instead of stdout (required for parquet)")
    p.set_defaults(fn=cmd_query)

    p = sub.add_parser("bench", help="measured throughput ratios against a baseline in the same run",
                       description="Benchmarks print ratios against a baseline run in the same process.")
    from curate.bench import BENCHES

    p.add_argument("name", choices=list(BENCHES))
    p.add_argument("--urls", type=POSITIVE, default=2000, help="ingest: size of the loopback URL list")
    p.add_argument("--embedder", default=DEFAULT_EMBEDDER, help="embed: the embedder to measure")
    p.add_argument("--vectors", default="100000,1000000", help="dedupe: comma-separated numbers of vectors")
    p.add_argument("--scheduler", metavar="SPEC", help="dedupe: where its tasks run (default: local:2)")
    p.add_argument("--topic-rows", type=COUNT, default=500, metavar="N",
                   help="dedupe: rows of each synthetic topic, the same at every size; 0: a fixed 2,000 "
                        "topics, so a bigger set is denser (each topic is a structureless blob)")
    p.add_argument("--steps", type=POSITIVE, default=40, help="train: steps per round")
    p.add_argument("--lora", type=int, metavar="RANK", help="train: LoRA of this rank against full fine-tuning")
    p.add_argument("--base", metavar="LOCAL_DIR", help="train --lora: the model both sides start from "
                   "(default: a tiny curate model trained first)")
    p.add_argument("--rounds", type=POSITIVE, default=3, help="alternating rounds of each side")
    p.set_defaults(fn=cmd_bench)
    for verb in sub.choices.values():  # -q after the verb as well as before it
        verb.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS, help=quiet_help)
    return parser


def main(argv=None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as done:  # --help, or a bad argument (one line, exit 2): returned like any other end
        return done.code
    progress.setup(args.quiet)
    try:
        args.fn(args)
    except UserError as err:
        message = " ".join(str(err).split())  # one line, whatever the message was built from
        print(f"curate {args.verb}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"curate {args.verb}: interrupted; finished shards are kept, rerun to resume", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader went away (`curate query ... | head`): as for cat or grep, not an error. Python
        # would report the failed flush of stdout at exit, so stdout is pointed at devnull first.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
