"""Tiny CLIP and X-CLIP models with RANDOM weights, built offline for tests (nothing is downloaded):
a small config, a byte-level BPE tokenizer written here (vocab.json + merges.txt) and the image
processor config, saved with save_pretrained into a folder the way a Hub checkpoint looks.
Their features mean nothing; they exercise the real code paths."""
from __future__ import annotations

import json
from pathlib import Path

#: what the saved image processor asks for (CLIP's rules at a small size)
PROCESSOR = {
    "image_processor_type": "CLIPImageProcessor",
    "do_resize": True, "size": {"shortest_edge": 40}, "resample": 3,
    "do_center_crop": True, "crop_size": {"height": 32, "width": 32},
    "do_rescale": True, "rescale_factor": 1 / 255,
    "do_normalize": True, "image_mean": [0.48145466, 0.4578275, 0.40821073],
    "image_std": [0.26862954, 0.26130258, 0.27577711], "do_convert_rgb": True,
}
MERGES = ["t h", "th e</w>", "i n", "in g</w>", "a n", "o n", "e r"]
PROJECTION_DIM = 24


def _byte_chars() -> list[str]:
    """The 256 printable stand-ins of byte-level BPE (GPT-2 / CLIP convention)."""
    keep = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    chars, extra = {b: b for b in keep}, 0
    for b in range(256):
        if b not in chars:
            chars[b] = 256 + extra
            extra += 1
    return [chr(chars[b]) for b in range(256)]


def build_tokenizer(folder: Path):
    from transformers import CLIPTokenizer

    chars = _byte_chars()
    tokens = chars + [c + "</w>" for c in chars] + [m.replace(" ", "") for m in MERGES]
    tokens += ["<|startoftext|>", "<|endoftext|>"]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(tokens)}), encoding="utf-8")
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(MERGES) + "\n", encoding="utf-8")
    tok = CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"), model_max_length=77)
    return tok, len(tokens)


def _text_config(vocab_size: int, tok) -> dict:
    return {"vocab_size": vocab_size, "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
            "num_attention_heads": 2, "max_position_embeddings": 77, "bos_token_id": tok.bos_token_id,
            "eos_token_id": tok.eos_token_id, "pad_token_id": tok.pad_token_id}


def _save(folder: Path, model, tok) -> Path:
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    (folder / "preprocessor_config.json").write_text(json.dumps(PROCESSOR, indent=2), encoding="utf-8")
    return folder


def build_clip(folder: Path, seed: int = 0) -> Path:
    """A CLIPModel (vision 32 px, patch 8; text 2 layers) with random weights, saved to ``folder``."""
    import torch
    from transformers import CLIPConfig, CLIPModel

    tok, vocab_size = build_tokenizer(folder.with_name(folder.name + "_tokenizer"))
    cfg = CLIPConfig(text_config=_text_config(vocab_size, tok), projection_dim=PROJECTION_DIM,
                     vision_config={"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
                                    "num_attention_heads": 2, "image_size": 32, "patch_size": 8})
    torch.manual_seed(seed)
    return _save(folder, CLIPModel(cfg).eval(), tok)


def build_xclip(folder: Path, seed: int = 0, num_frames: int = 8) -> Path:
    """An XCLIPModel (clips of ``num_frames`` frames of 32 px) with random weights, saved to ``folder``."""
    import torch
    from transformers import XCLIPConfig, XCLIPModel

    tok, vocab_size = build_tokenizer(folder.with_name(folder.name + "_tokenizer"))
    cfg = XCLIPConfig(text_config=_text_config(vocab_size, tok), projection_dim=PROJECTION_DIM,
                      prompt_layers=1, prompt_num_attention_heads=2,
                      vision_config={"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
                                     "num_attention_heads": 2, "image_size": 32, "patch_size": 8,
                                     "num_frames": num_frames, "mit_hidden_size": PROJECTION_DIM,
                                     "mit_intermediate_size": 48, "mit_num_hidden_layers": 1,
                                     "mit_num_attention_heads": 2})
    torch.manual_seed(seed)
    return _save(folder, XCLIPModel(cfg).eval(), tok)
