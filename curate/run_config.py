"""`curate run CONFIG.yaml`: the stages of a YAML file, in pipeline order, each exactly as its
verb would run it.

    dataset: my-dataset            # the workspace every stage works on
    scheduler: local:4             # optional: where per-shard stages run (as --scheduler)
    stages:                        # verb: {option: value}, options named as the verb's flags
      ingest: {urls: list.csv, image_size: 256}
      embed: {}
      dedupe: {report: true}
      caption: {kept_only: true}
      score: {report: true}
      shard: {where: "hands > 0 AND nsfw < 0.2"}
      train: {out: model, steps: 2000}
      sample: {prompts: prompts.txt, out: samples}   # model_dir: train's out unless given
      audit: {}                                      # samples: sample's out unless given

Each option goes through the verb's own argument parser, so a config accepts what the command
line does, no more: an unknown stage or option, or a bad value, is one line and exit 2 before
any stage runs. Every stage skips work already done, so rerunning a config resumes it.
"""

import argparse
import logging

import yaml

from curate.errors import UserError
from curate.query import predicate

log = logging.getLogger("curate.run")
STAGES = ("ingest", "embed", "dedupe", "caption", "score", "shard", "train", "sample", "audit")
TOP_LEVEL = {"dataset", "scheduler", "stages"}


def load(path: str) -> dict:
    try:
        with open(path) as fh:
            config = yaml.safe_load(fh)
    except OSError as err:
        raise UserError(f"{path}: {err.strerror}") from None
    except yaml.YAMLError as err:
        raise UserError(f"{path}: not valid YAML: {getattr(err, 'problem', None) or err}") from None
    if not isinstance(config, dict):
        raise UserError(f"{path}: expected a mapping with 'dataset' and 'stages'")
    unknown = sorted(set(config) - TOP_LEVEL)
    if unknown:
        raise UserError(f"{path}: unknown key {unknown[0]!r}; the keys are {', '.join(sorted(TOP_LEVEL))}")
    if not isinstance(config.get("dataset"), str) or not isinstance(config.get("stages"), dict):
        raise UserError(f"{path}: needs 'dataset' (a folder) and 'stages' (a mapping of verb to options)")
    for verb, options in config["stages"].items():
        if verb not in STAGES:
            raise UserError(f"{path}: unknown stage {verb!r}; stages are {', '.join(STAGES)}")
        if options is not None and not isinstance(options, dict):
            raise UserError(f"{path}: stages.{verb} must be a mapping of options")
    return config


def _option_argv(path: str, verb: str, parser: argparse.ArgumentParser, options: dict) -> list[str]:
    """YAML options as the verb's own flags."""
    actions = {a.dest: a for a in parser._actions if a.option_strings and a.dest != "help"}
    argv = []
    for key, value in options.items():
        action = actions.get(str(key).replace("-", "_"))
        if action is None:
            raise UserError(f"{path}: stages.{verb}: unknown option {key!r}; see `curate {verb} --help`")
        flag = next(s for s in action.option_strings if s.startswith("--"))
        if isinstance(action, argparse.BooleanOptionalAction):
            argv.append(flag if value else "--no-" + flag[2:])
        elif action.nargs == 0:  # store_true
            if not isinstance(value, bool):
                raise UserError(f"{path}: stages.{verb}.{key} is a switch: true or false, not {value!r}")
            argv += [flag] if value else []
        else:
            argv += [flag, ",".join(map(str, value)) if isinstance(value, list) else str(value)]
    return argv


def plan(path: str, config: dict, parser: argparse.ArgumentParser, only: list[str] | None,
         scheduler: str | None) -> list[argparse.Namespace]:
    """Parsed arguments per stage to run, all checked before the first one starts."""
    stages = config["stages"]
    missing = [s for s in only or () if s not in stages]
    if missing:
        raise UserError(f"--stages {missing[0]}: not in {path} (it has {', '.join(stages)})")
    verbs = parser._subparsers._group_actions[0].choices  # the verb -> subparser map
    scheduler = scheduler or config.get("scheduler")
    dataset = config["dataset"]
    runs = []
    for verb in STAGES:
        if verb not in stages or (only and verb not in only):
            continue
        options = dict(stages[verb] or {})
        if verb == "sample":  # chained: the model just trained, samples for the audit
            target = options.pop("model_dir", None) or (stages.get("train") or {}).get("out")
            if not target:
                raise UserError(f"{path}: stages.sample needs model_dir (or a train stage with out)")
        else:
            target = dataset
        if verb == "audit" and "samples" not in options and (stages.get("sample") or {}).get("out"):
            options["samples"] = stages["sample"]["out"]
        # the executor's --scheduler, which comes with --processes-count (sample's is the sampler's)
        if scheduler and "scheduler" not in options and "processes_count" in {a.dest for a in verbs[verb]._actions}:
            options["scheduler"] = scheduler
        argv = [verb, str(target), *_option_argv(path, verb, verbs[verb], options)]
        try:
            args = parser.parse_args(argv)
            if getattr(args, "where", None) is not None:  # checked here too, so no stage runs before a bad one
                predicate(args.where)
        except UserError as err:
            raise UserError(f"{path}: stages.{verb}: {err}") from None
        runs.append(args)
    return runs


def run(path: str, parser: argparse.ArgumentParser, only: list[str] | None = None, scheduler: str | None = None) -> None:
    """`parser` must raise UserError where argparse would exit (cli.build_parser(strict=True))."""
    runs = plan(path, load(path), parser, only, scheduler)
    for args in runs:
        log.info("curate run: %s", args.verb)
        args.fn(args)
