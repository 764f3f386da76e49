"""``ctchat train``: one training stage over the synthetic training set, optionally exported
as a bundle.

The training set is built from the training scans only (:data:`TRAIN_SCANS`) with insertion
seeds below the evaluation range, so ``ctchat eval`` measures on scans and lesions the model
never saw. For several GPUs or nodes, run the same command under ``accelerate launch``.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``train`` sub-command."""
    p = subparsers.add_parser("train", help="run a training stage (align or lora) and export a bundle")
    p.add_argument("--stage", choices=["align", "lora"], required=True)
    p.add_argument("--out", required=True, help="run folder (checkpoints; an interrupted run resumes)")
    p.add_argument("--config", default="tiny", help="vision config preset")
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--lr", type=float, help="default: 1e-4 for align, 5e-5 for lora (E3D-GPT)")
    p.add_argument("--vision-lr", type=float, help="a separate rate for the vision side (default: --lr)")
    p.add_argument("--per-scan", type=int, default=8, help="synthetic cases per training scan (half with a lesion)")
    p.add_argument("--init", help="run folder of an earlier stage, or an exported bundle (e.g. "
                                  "resources/bundles/default), whose weights to start from (its LoRA too, when "
                                  "both are stage 2)")
    p.add_argument("--mae", help="run folder of `ctchat pretrain` whose 3D encoder to start from")
    p.add_argument("--tgis-weight", type=float, default=1.0,
                   help="weight of the auxiliary TG-IS loss on the lesion's slices (0: answer loss only)")
    p.add_argument("--lesion-weight", type=float, default=0.0,
                   help="weight of the auxiliary loss that teaches each 3D image token whether it holds the "
                        "lesion (a training-only head; 0: off)")
    p.add_argument("--train-encoder", action="store_true",
                   help="stage 2 tunes the 3D encoder too (E3D-GPT keeps it frozen; see multimodal.py)")
    p.add_argument("--oversample-presence", type=int, default=1, metavar="N",
                   help="the lesion-presence questions (abnormality, disease) appear N times per epoch")
    p.add_argument("--oversample-location", type=int, default=1, metavar="N",
                   help="the location questions appear N times per epoch")
    p.add_argument("--oversample-phase", type=int, default=1, metavar="N",
                   help="the contrast-phase questions appear N times per epoch")
    p.add_argument("--lesion-free-parts", action="store_true",
                   help="also insert lesions in the lesion-free part of scans with a documented tumour "
                        "(A0001 below its tumour: a second patient's lungs)")
    p.add_argument("--no-crops", dest="crops", action="store_false",
                   help="train on each scan's whole field of view (default: a random crop per case)")
    p.add_argument("--choice-answer", choices=["letter_first", "letter_last"],
                   help="multiple-choice answers as M3D-VQA writes them ('B. left lower') or with the letter "
                        "last ('left lower (B)', options listed so), recorded in the bundle's prompt format "
                        "(default: the --init bundle's, else letter_first)")
    p.add_argument("--checkpoint-every", type=int, default=50)
    p.add_argument("--export", help="write a bundle here when the stage is done")
    p.add_argument("--name", help="the exported bundle's name (default: ctchat-CONFIG-STAGE)")
    p.add_argument("--version", default="0.2.0", help="the exported bundle's version")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Build the data and the model, train, and export."""
    import torch

    from inference.llm.model_files import default_gguf_path
    from inference.llm.prompt import PromptFormat, default_tasks
    from inference.llm.text_vector import TextVectorizer
    from inference.llm.vocab import LlamaVocab
    from inference.resources import shared_ct_dir
    from training.data.cases import EVAL_SCANS, EVAL_SEED_BASE, PRESENCE_KINDS, TRAIN_SCANS, synthetic_cases
    from training.data.examples import oversampled, training_examples
    from training.export.bundle_writer import write_bundle
    from training.models.config import get_config
    from training.models.hf_llm import load_training_llm
    from training.models.multimodal import MultimodalModel
    from training.models.vision_model import build_vision_model
    from training.stages.pretrain import encoder_state
    from training.stages.trainer import CHECKPOINT, TrainConfig, read_stages, train, write_stages
    from training.stages.warm_start import start_from_run

    gguf = default_gguf_path()
    fmt = PromptFormat(tasks=default_tasks(), choice_answer=_choice_answer(args))
    cfg = get_config(args.config)
    model = MultimodalModel(build_vision_model(cfg, seed=args.seed), load_training_llm(gguf), LlamaVocab(gguf), fmt,
                            tgis_weight=args.tgis_weight, train_encoder=args.train_encoder,
                            lesion_weight=args.lesion_weight)
    if args.mae:
        state = torch.load(Path(args.mae) / CHECKPOINT, map_location="cpu", weights_only=False)["trainable"]
        model.vision.scan.vit3d.load_state_dict(encoder_state(state))
        print(f"3D encoder pretrained by MAE in {args.mae}")
    taken = start_from_run(model, args.init, args.stage) if args.init else {}
    for part in taken.values():
        print(f"started from: {part}")

    if args.seed * 10_000 + args.per_scan > EVAL_SEED_BASE:
        raise SystemExit("ctchat train: --seed too large, it would reach the held-out insertion seeds")
    cases = synthetic_cases(shared_ct_dir(), TRAIN_SCANS, args.per_scan, seed_base=args.seed * 10_000, crops=args.crops,
                            lesion_free_parts=args.lesion_free_parts)
    examples = oversampled(training_examples(model, cases, TextVectorizer.from_gguf(gguf)), PRESENCE_KINDS,
                           args.oversample_presence)
    examples = oversampled(examples, ("location",), args.oversample_location)
    examples = oversampled(examples, ("phase",), args.oversample_phase)
    print(f"{len(examples)} training examples from {', '.join(TRAIN_SCANS)}")

    lr = args.lr if args.lr is not None else (1e-4 if args.stage == "align" else 5e-5)
    out = Path(args.out)
    losses = train(model, examples, TrainConfig(args.stage, args.steps, lr, out, args.checkpoint_every, args.seed,
                                                   args.vision_lr))
    if losses:
        print(f"stage {args.stage}: {len(losses)} steps, loss {losses[0]:.3f} -> {losses[-1]:.3f}")
    stages = [s for run_dir in (args.mae, args.init) if run_dir for s in read_stages(run_dir)]
    stages.append({"stage": args.stage, "steps": args.steps, "learning_rate": lr,
                   "vision_learning_rate": lr if args.vision_lr is None else args.vision_lr, "cases_per_scan": args.per_scan,
                   "examples": len(examples), "random_crops": args.crops, "tgis_aux_weight": args.tgis_weight,
                   "lesion_token_aux_weight": args.lesion_weight, "choice_answer": fmt.choice_answer,
                   "lesion_free_parts": args.lesion_free_parts,
                   "train_3d_encoder": args.stage == "lora" and args.train_encoder,
                   "presence_questions_oversampled": args.oversample_presence,
                   "location_questions_oversampled": args.oversample_location,
                   "phase_questions_oversampled": args.oversample_phase,
                   "continued_lora": "lora" in taken,
                   "seed": args.seed})
    write_stages(out, stages)
    if args.export:
        pairs = None
        if args.stage == "lora":
            from peft import get_peft_model_state_dict

            from training.export.lora_gguf import peft_to_gguf

            pairs = peft_to_gguf(get_peft_model_state_dict(model.llm))
        training = {
            "trained": True,
            "stages": stages,
            "data": f"synthetic lesions in {', '.join(TRAIN_SCANS)}"
                    f"{' (A0001 below its tumour)' if args.lesion_free_parts else ''}, {args.per_scan} cases per scan"
                    f"{', each a random crop' if args.crops else ''}; held out for evaluation: {', '.join(EVAL_SCANS)} "
                    "(the heart crop is another crop of the aorta crop's CT angiogram)",
            "note": "demonstration model trained on synthetic lesions in a few real scans; not a medical device",
        }
        bundle = write_bundle(args.export, model.vision.eval(), args.name or f"ctchat-{args.config}-{args.stage}", args.version,
                              training, pairs, lora_alpha=32, prompt=fmt)
        print(f"wrote {bundle.name} to {args.export}")
    return 0


def _choice_answer(args: argparse.Namespace) -> str:
    """``--choice-answer``, else the order of the ``--init`` bundle's prompt format (a
    continuation keeps the answers its model was taught), else M3D-VQA's letter first."""
    from inference.bundle import load_bundle
    from training.export.read_back import is_bundle

    if args.choice_answer:
        return args.choice_answer
    if args.init and is_bundle(args.init):
        return load_bundle(args.init).prompt.choice_answer
    return "letter_first"
