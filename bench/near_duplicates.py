"""Could a perceptual hash answer re-encoded or resized copies from the result cache? Measured, not assumed.

A 64-bit DCT hash (pHash) of real faces is compared with (a) the same picture re-encoded or
resized, which a near-duplicate cache should match, and (b) the fake made from that very picture
by one of the project's synthetic manipulations (face or region swap, upsampling, resampling,
colour mismatch), which it must never match: the fake would get the real picture's verdict.

    python -m bench.near_duplicates [--pairs 300]
"""
from __future__ import annotations

import argparse
import io

import numpy as np
from PIL import Image
from scipy.fft import dctn

HASH_SIDE, LOW = 32, 8


def phash(image: np.ndarray) -> np.ndarray:
    """64 bits: signs of the 8×8 lowest DCT frequencies of the 32×32 grey image against their median."""
    grey = np.asarray(Image.fromarray(image).convert("L").resize((HASH_SIDE, HASH_SIDE), Image.LANCZOS), np.float64)
    low = dctn(grey, norm="ortho")[:LOW, :LOW]
    return (low > np.median(low)).ravel()


def _jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, "JPEG", quality=quality)
    buffer.seek(0)
    return np.asarray(Image.open(buffer).convert("RGB"))


def _resized(image: np.ndarray, factor: float) -> np.ndarray:
    side = round(image.shape[0] * factor)
    return np.asarray(Image.fromarray(image).resize((side, side), Image.BILINEAR, reducing_gap=2.0))


COPIES = {"JPEG q95": lambda x: _jpeg(x, 95), "JPEG q75": lambda x: _jpeg(x, 75),
          "resized ×0.75": lambda x: _resized(x, 0.75), "resized ×0.5 + JPEG q85": lambda x: _jpeg(_resized(x, 0.5), 85)}


def measure(pairs: int, seed: int = 11) -> dict[str, np.ndarray]:
    from models.data.synthetic import make_pair, sample_photos

    photos, rng = sample_photos(), np.random.default_rng(seed)
    distances: dict[str, list[int]] = {name: [] for name in COPIES} | {"fake made from it": [], "another picture": []}
    previous = None
    for _ in range(pairs):
        real, fake, _how = make_pair(rng, photos)
        original = phash(real)
        for name, copy in COPIES.items():
            distances[name].append(int(np.sum(original != phash(copy(real)))))
        distances["fake made from it"].append(int(np.sum(original != phash(fake))))
        if previous is not None:
            distances["another picture"].append(int(np.sum(original != previous)))
        previous = original
    return {name: np.array(values) for name, values in distances.items()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=300)
    args = parser.parse_args(argv)
    distances = measure(args.pairs)
    print(f"Hamming distance of 64-bit pHashes to the original, {args.pairs} synthetic real/fake pairs:")
    for name, values in distances.items():
        print(f"  {name:26} median {np.median(values):4.1f}   p5 {np.percentile(values, 5):4.1f}   "
              f"p95 {np.percentile(values, 95):4.1f}")
    fakes = distances["fake made from it"]
    print("\nthreshold | copies matched (would be answered from the cache) | fakes matched (would get the real verdict)")
    for threshold in range(0, 13, 2):
        matched = np.mean(np.concatenate([distances[name] for name in COPIES]) <= threshold)
        print(f"  ≤ {threshold:2d}    | {matched:6.1%} | {np.mean(fakes <= threshold):6.1%}")


if __name__ == "__main__":
    main()
