"""Copy the browser tests' screenshots shown in the README from test-artifacts/ to docs/screenshots/<page>.png,
reduced to a 256-colour palette so each stays small. The tests never write to docs/; after a run of
`pytest tests/browser`, run `.venv/bin/python tests/browser/readme_screenshots.py` and look at the images
before committing them."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
OUT = REPO / "docs" / "screenshots"
# page -> the screenshot (test-artifacts/<name>.png) that shows it best: after its main interaction where there is one.
README_SHOTS = {
    "memories": "memories-table",
    "write": "page-write",
    "recall": "recall-hits",
    "graph": "graph-drawn",
    "forgetting": "forgetting-threshold",
    "attention": "attention-sink-map",
    "evaluate": "evaluate-run",
    "replay": "replay-end",
}


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for page, shot in README_SHOTS.items():
        img = Image.open(ARTIFACTS / f"{shot}.png").convert("RGB")
        out = OUT / f"{page}.png"
        img.quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(out, optimize=True)
        print(f"{out.relative_to(REPO)}  {img.width}x{img.height}  {out.stat().st_size // 1024} KB  (from {shot}.png)")


if __name__ == "__main__":
    main()
