#!/usr/bin/python3
"""Reference pixels for kevo's image decoding and preprocessing, from Pillow + numpy.

usage: tools/oracles/oracle_image.py DATA_DIR [IMAGE_DIR...]

Writes DATA_DIR/oracle/image/:
  inputs/      generated test images (every PNG colour type and bit depth, grey / CMYK / YCCK /
               Adobe-RGB / progressive JPEGs, odd, tiny, 1 x N, N x 1, extreme and exact sizes,
               a 6720 x 4480 JPEG for the memory test) and hostile/ files (absurd dimensions)
  configs/     preprocessor_config.json variants
  cases/       one safetensors per (image, config): "rgb" U8 [H, W, 3] (what
               Image.open(f).convert("RGB") gives; small images only) and, for each mode
               M in pad / crop, "M.shown" U8 [h, w, 3] (the uint8 image after resize and crop)
               and "M.pixel_values" F32 [1, 3, h, w]
  manifest.tsv one line per case: name, image path, config folder, case file, stored rgb (0/1)

The images are tests/data/images/* (small seed images and derivatives), the generated ones, and
every JPEG/PNG under the optional IMAGE_DIRs (e.g. ../shared/data/seed-images, to check the full
set: `tools/oracles/oracle_image.py build/data ../shared/data/seed-images &&
build/kevo-test image_`).

The pipeline reimplements transformers' CLIPImageProcessor slow path (models/clip/
image_processing_clip.py `preprocess` with image_transforms.py `get_resize_output_image_size`,
`resize`, `center_crop`, `rescale`, `normalize`) in PIL + numpy, since transformers is not
installed here; the pad mode applies LLaVA's expand2square (llava/mm_utils.py) first, with the
background tuple(int(x * 255) for x in image_mean). Images of height 1 or 3 are treated as
images here; real transformers' infer_channel_dimension_format would take their first axis for
channels (shape (1|3, W, 3)) and fail on them.
"""
import io
import json
import math
import os
import shutil
import struct
import sys
import warnings
import zlib

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import safetensors_np as st  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TEST_IMAGES = os.path.join(ROOT, "tests", "data", "images")
RAM_LIMIT_PIXELS = 1 << 20     # store the decoded "rgb" only for images up to this size

CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]

CONFIGS = {
    # openai/clip-vit-large-patch14-336 as llava-hf ships it
    "clip336": dict(crop_size={"height": 336, "width": 336}, do_center_crop=True,
                    do_convert_rgb=True, do_normalize=True, do_rescale=True, do_resize=True,
                    image_mean=CLIP_MEAN, image_std=CLIP_STD, resample=3,
                    rescale_factor=1 / 255, size={"shortest_edge": 336}),
    # the fixture models' processor (tests/fixtures/tiny-f32), old-style integer sizes
    "tiny56": dict(crop_size=56, image_mean=CLIP_MEAN, image_std=CLIP_STD, resample=3, size=56),
    # a fixed (height, width) resize and a crop wider than the resized image: zero padding
    "hw": dict(size={"height": 45, "width": 70}, crop_size={"height": 40, "width": 76},
               image_mean=[0.5, 0.25, 0.75], image_std=[0.5, 0.125, 0.3]),
    # a crop larger than the resized short side
    "smallshort": dict(size={"shortest_edge": 20}, crop_size={"height": 24, "width": 27}),
    # no rescale, no normalisation: pixel_values are the bytes
    "raw": dict(size={"shortest_edge": 30}, crop_size={"height": 30, "width": 30},
                do_rescale=False, do_normalize=False),
    # no resize: crop straight from the image
    "noresize": dict(do_resize=False, crop_size={"height": 33, "width": 31}),
}
DEFAULTS = dict(do_resize=True, size={"shortest_edge": 224}, resample=3, do_center_crop=True,
                crop_size=224, do_rescale=True, rescale_factor=1 / 255, do_normalize=True,
                image_mean=CLIP_MEAN, image_std=CLIP_STD, do_convert_rgb=True)


# ---------------------------------------------------------------------------------------------
# The reference pipeline

def expand2square(img, background):
    """llava/mm_utils.py expand2square."""
    w, h = img.size
    if w == h:
        return img
    side = max(w, h)
    canvas = Image.new(img.mode, (side, side), background)
    canvas.paste(img, ((side - w) // 2, (side - h) // 2))
    return canvas


def size_dict(value, default_to_square):
    """image_processing_utils.get_size_dict for the forms preprocessor configs use."""
    if isinstance(value, int):
        return {"height": value, "width": value} if default_to_square else {"shortest_edge": value}
    return value


def resize_size(width, height, size):
    """image_transforms.get_resize_output_image_size (default_to_square=False); (w, h)."""
    if "shortest_edge" in size:
        short, long = (width, height) if width <= height else (height, width)
        new_short, new_long = size["shortest_edge"], int(size["shortest_edge"] * long / short)
        return (new_short, new_long) if width <= height else (new_long, new_short)
    return size["width"], size["height"]


def center_crop(arr, crop_h, crop_w):
    """image_transforms.center_crop on an HWC array: floor offsets, zero padding when small."""
    h, w = arr.shape[:2]
    top, left = (h - crop_h) // 2, (w - crop_w) // 2
    if top >= 0 and left >= 0 and top + crop_h <= h and left + crop_w <= w:
        return arr[top:top + crop_h, left:left + crop_w]
    new_h, new_w = max(crop_h, h), max(crop_w, w)
    padded = np.zeros((new_h, new_w) + arr.shape[2:], dtype=arr.dtype)
    top_pad, left_pad = math.ceil((new_h - h) / 2), math.ceil((new_w - w) / 2)
    padded[top_pad:top_pad + h, left_pad:left_pad + w] = arr
    top, left = top + top_pad, left + left_pad
    return padded[max(0, top):min(new_h, top + crop_h), max(0, left):min(new_w, left + crop_w)]


def clip_preprocess(img, cfg):
    """CLIPImageProcessor.preprocess (slow path) on one PIL image: (shown u8 HWC, pixels)."""
    if cfg["do_convert_rgb"]:
        img = img.convert("RGB")
    arr = np.array(img)
    if cfg["do_resize"]:
        w, h = resize_size(arr.shape[1], arr.shape[0], size_dict(cfg["size"], False))
        arr = np.array(Image.fromarray(arr).resize((w, h), resample=cfg["resample"]))
    if cfg["do_center_crop"]:
        crop = size_dict(cfg["crop_size"], True)
        arr = center_crop(arr, crop["height"], crop["width"])
    shown = np.ascontiguousarray(arr)
    x = arr
    if cfg["do_rescale"]:
        x = (x * cfg["rescale_factor"]).astype(np.float32)     # float64 product, then float32
    if cfg["do_normalize"]:
        if not np.issubdtype(x.dtype, np.floating):
            x = x.astype(np.float32)
        x = (x - np.array(cfg["image_mean"], dtype=x.dtype)) / np.array(cfg["image_std"],
                                                                         dtype=x.dtype)
    pixels = np.ascontiguousarray(x.astype(np.float32).transpose(2, 0, 1)[None])
    return shown, pixels


def preprocess(path, cfg, mode):
    """The whole pipeline from a file: Image.open(f).convert("RGB"), then pad or crop mode."""
    img = Image.open(path).convert("RGB")
    if mode == "pad":
        img = expand2square(img, tuple(int(x * 255) for x in cfg["image_mean"]))
    return clip_preprocess(img, cfg)


def full_config(name):
    cfg = dict(DEFAULTS)
    cfg.update(CONFIGS[name])
    return cfg


# ---------------------------------------------------------------------------------------------
# Writing safetensors with numpy alone

def save_safetensors(path, tensors):
    st.write(path, tensors)


# ---------------------------------------------------------------------------------------------
# Generated test images

def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def pack_row(samples, depth):
    """One row of samples (1-D, already interleaved) as PNG bytes at `depth` bits."""
    if depth == 16:
        return samples.astype(">u2").tobytes()
    if depth == 8:
        return samples.astype(np.uint8).tobytes()
    per = 8 // depth
    padded = np.zeros(-(-len(samples) // per) * per, dtype=np.uint8)
    padded[:len(samples)] = samples
    groups = padded.reshape(-1, per).astype(np.uint16)
    shifts = np.arange(per - 1, -1, -1) * depth
    return (groups << shifts).sum(axis=1).astype(np.uint8).tobytes()


ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2),
         (0, 1, 1, 2)]


def write_png(path, samples, depth, color, palette=None, trns=None, interlace=False):
    """A PNG written by hand (filter 0), so that every colour type and bit depth is covered.
    samples: (H, W, C) integer array of raw sample values (palette indices for colour type 3)."""
    h, w = samples.shape[:2]
    raw = bytearray()
    passes = ADAM7 if interlace else [(0, 0, 1, 1)]
    for x0, y0, dx, dy in passes:
        sub = samples[y0::dy, x0::dx]
        if sub.shape[0] == 0 or sub.shape[1] == 0:
            continue
        for row in sub:
            raw += b"\0" + pack_row(row.reshape(-1), depth)
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, color, 0, 0,
                                                           int(interlace)))
    if palette is not None:
        out += chunk(b"PLTE", np.asarray(palette, dtype=np.uint8).tobytes())
    if trns is not None:
        out += chunk(b"tRNS", trns)
    out += chunk(b"IDAT", zlib.compress(bytes(raw), 9)) + chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(out)


def pattern(h, w, c, rng, top=255):
    """Smooth gradients plus noise: edges and flat areas both exercise the filter."""
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([(x * 7 + y * 3) % 256, (x * y) % 256, (x * 2 - y * 5) % 256], axis=-1)[..., :c]
    if c == 4:
        base = np.concatenate([base, ((x + y) % 256)[..., None]], axis=-1)
    noise = rng.integers(0, 256, size=(h, w, c))
    mixed = np.where(rng.random((h, w, 1)) < 0.3, noise, base % 256)
    return (mixed.astype(np.int64) * top // 255).astype(np.int64)


def jpeg_bytes(img, **kw):
    buf = io.BytesIO()
    img.save(buf, "JPEG", **kw)
    return buf.getvalue()


def set_adobe_transform(data, transform):
    """Sets the colour transform byte of an Adobe APP14 segment, inserting one after SOI when
    there is none: libjpeg then reads the components as RGB (0), YCbCr (1) or YCCK (2)."""
    i = data.find(b"\xff\xeeAdobe")
    if i < 0:
        seg = b"\xff\xee" + struct.pack(">H", 14) + b"Adobe" + struct.pack(">HHHB", 100, 0, 0,
                                                                          transform)
        return data[:2] + seg + data[2:]
    j = i + 4 + 11
    return data[:j] + bytes([transform]) + data[j + 1:]


def set_jpeg_size(data, width, height):
    """Rewrites the frame header's dimensions (the first SOF0/SOF2)."""
    for marker in (b"\xff\xc0", b"\xff\xc2"):
        i = data.find(marker)
        if i >= 0:
            return data[:i + 5] + struct.pack(">HH", height, width) + data[i + 9:]
    raise ValueError("no SOF")


def generate(out):
    rng = np.random.default_rng(20250)
    made = []

    def jpg(name, img, **kw):
        path = os.path.join(out, name)
        with open(path, "wb") as f:
            f.write(jpeg_bytes(img, **kw))
        made.append(path)

    def rgb(h, w):
        return Image.fromarray(pattern(h, w, 3, rng).astype(np.uint8), "RGB")

    # JPEG: sizes and shapes
    for w, h in [(333, 517), (517, 333), (1, 1), (2, 3), (3, 2), (1, 57), (57, 1), (336, 336),
                 (337, 335), (40, 30), (13, 97), (2000, 7), (7, 2000), (900, 3)]:
        jpg(f"rgb-{w}x{h}.jpg", rgb(h, w), quality=90)
    jpg("rgb-444.jpg", rgb(101, 163), quality=95, subsampling=0)
    jpg("rgb-422.jpg", rgb(101, 163), quality=95, subsampling=1)
    jpg("rgb-progressive.jpg", rgb(191, 257), quality=85, progressive=True)
    exif = Image.Exif()
    exif[0x0112] = 6   # "rotate 90 CW to display": neither Pillow's open nor kevo applies it
    jpg("exif-orientation-6.jpg", rgb(40, 90), quality=90, exif=exif.tobytes())
    jpg("grey.jpg", Image.fromarray(pattern(77, 123, 1, rng)[..., 0].astype(np.uint8), "L"))
    jpg("grey-progressive.jpg",
        Image.fromarray(pattern(64, 45, 1, rng)[..., 0].astype(np.uint8), "L"), progressive=True)
    cmyk = Image.fromarray(pattern(61, 97, 4, rng).astype(np.uint8), "CMYK")
    jpg("cmyk.jpg", cmyk, quality=92)
    with open(os.path.join(out, "ycck.jpg"), "wb") as f:
        f.write(set_adobe_transform(jpeg_bytes(cmyk, quality=92), 2))
    made.append(os.path.join(out, "ycck.jpg"))
    with open(os.path.join(out, "adobe-rgb.jpg"), "wb") as f:
        f.write(set_adobe_transform(jpeg_bytes(rgb(50, 70), quality=92, subsampling=0), 0))
    made.append(os.path.join(out, "adobe-rgb.jpg"))

    # PNG: every colour type and bit depth
    def png(name, samples, depth, color, **kw):
        path = os.path.join(out, name)
        write_png(path, samples, depth, color, **kw)
        made.append(path)

    for depth in (1, 2, 4, 8, 16):
        png(f"grey{depth}.png", pattern(37, 53, 1, rng, (1 << depth) - 1), depth, 0)
    png("grey16-low.png", pattern(29, 31, 1, rng, 300), 16, 0)        # values around 255
    png("grey8-trns.png", pattern(20, 22, 1, rng), 8, 0, trns=struct.pack(">H", 7))
    png("rgb8.png", pattern(41, 67, 3, rng), 8, 2)
    png("rgb8-trns.png", pattern(41, 17, 3, rng), 8, 2, trns=struct.pack(">HHH", 1, 2, 3))
    png("rgb16.png", pattern(23, 47, 3, rng, 65535), 16, 2)
    png("ga8.png", pattern(33, 21, 2, rng), 8, 4)
    png("ga16.png", pattern(33, 21, 2, rng, 65535), 16, 4)
    png("rgba8.png", pattern(35, 45, 4, rng), 8, 6)
    png("rgba16.png", pattern(35, 45, 4, rng, 65535), 16, 6)
    png("rgb8-interlaced.png", pattern(45, 61, 3, rng), 8, 2, interlace=True)
    png("grey2-interlaced.png", pattern(11, 13, 1, rng, 3), 2, 0, interlace=True)
    png("rgba16-interlaced.png", pattern(19, 9, 4, rng, 65535), 16, 6, interlace=True)
    for depth in (1, 2, 4, 8):
        n = 1 << depth
        pal = rng.integers(0, 256, size=(n, 3))
        png(f"palette{depth}.png", pattern(39, 43, 1, rng, n - 1), depth, 3, palette=pal,
            trns=bytes(rng.integers(0, 256, size=n // 2).astype(np.uint8)))
    # a palette shorter than the indices used: Pillow's palette is a grey ramp past PLTE
    png("palette8-short.png", pattern(25, 27, 1, rng), 8, 3, palette=rng.integers(0, 256, (5, 3)))
    png("palette4-short.png", pattern(25, 27, 1, rng, 15), 4, 3,
        palette=rng.integers(0, 256, (3, 3)))
    for w, h in [(1, 1), (1, 40), (40, 1), (336, 336), (4, 1500)]:
        png(f"rgb8-{w}x{h}.png", pattern(h, w, 3, rng), 8, 2)
    # Pillow's own writer (adaptive filters, several IDAT chunks)
    for mode, name in [("RGB", "pil-rgb.png"), ("RGBA", "pil-rgba.png"), ("L", "pil-l.png"),
                       ("P", "pil-p.png"), ("LA", "pil-la.png")]:
        im = Image.fromarray(pattern(150, 211, 4, rng).astype(np.uint8), "RGBA").convert(mode)
        path = os.path.join(out, name)
        im.save(path, optimize=False)
        made.append(path)
    return made


def generate_big(out):
    """6720 x 4480 progressive JPEG (the largest seed image's size) for the memory test."""
    path = os.path.join(out, "big-6720x4480.jpg")
    w, h = 6720, 4480
    y = np.arange(h, dtype=np.uint16)[:, None]
    x = np.arange(w, dtype=np.uint16)[None, :]
    arr = np.empty((h, w, 3), dtype=np.uint8)
    arr[..., 0] = (x // 7 + y // 11) % 256
    arr[..., 1] = (x // 13 * (y // 17)) % 256
    arr[..., 2] = (x // 5 ^ y // 3) % 256
    Image.fromarray(arr, "RGB").save(path, quality=85, progressive=True)
    return path


def generate_hostile(out):
    """Files that must be refused before any pixel buffer is allocated."""
    os.makedirs(out, exist_ok=True)
    # a PNG whose header claims 20000 x 20000 (4e8 pixels > 2^28)
    ihdr = struct.pack(">IIBBBBB", 20000, 20000, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 64)
    with open(os.path.join(out, "huge.png"), "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) +
                chunk(b"IEND", b""))
    # a JPEG frame header claiming 65000 x 65000
    small = jpeg_bytes(Image.new("RGB", (16, 16), (10, 200, 30)))
    with open(os.path.join(out, "huge.jpg"), "wb") as f:
        f.write(set_jpeg_size(small, 65000, 65000))
    # 65500 x 4099: just over 2^28 pixels, within libjpeg's own 65500 limit
    with open(os.path.join(out, "over-limit.jpg"), "wb") as f:
        f.write(set_jpeg_size(small, 65500, 4099))


# ---------------------------------------------------------------------------------------------

def image_files(folder):
    found = []
    for base, _, names in os.walk(folder):
        for n in sorted(names):
            if n.lower().endswith((".jpg", ".jpeg", ".png")):
                found.append(os.path.join(base, n))
    return sorted(found)


def write_case(path, image, config_names, cfgs, store_rgb):
    tensors = {}
    if store_rgb:
        tensors["rgb"] = np.array(Image.open(image).convert("RGB"))
    for mode in ("pad", "crop"):
        shown, pixels = preprocess(image, cfgs, mode)
        tensors[f"{mode}.shown"] = shown
        tensors[f"{mode}.pixel_values"] = pixels
    save_safetensors(path, tensors)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    data = sys.argv[1]
    # convert("RGB") of a palette PNG with per-entry alpha warns that alpha is lost: intended.
    warnings.filterwarnings("ignore", "Palette images with Transparency")
    out = os.path.join(data, "oracle", "image")
    if os.path.isdir(out):
        shutil.rmtree(out)
    for sub in ("inputs", "configs", "cases"):
        os.makedirs(os.path.join(out, sub))
    for name in CONFIGS:
        os.makedirs(os.path.join(out, "configs", name))
        with open(os.path.join(out, "configs", name, "preprocessor_config.json"), "w") as f:
            json.dump(dict(CONFIGS[name], image_processor_type="CLIPImageProcessor"), f, indent=2)
    inputs = os.path.join(out, "inputs")
    generated = generate(inputs)
    committed = image_files(TEST_IMAGES)
    big = generate_big(inputs)
    generate_hostile(os.path.join(out, "hostile"))
    extra = [p for d in sys.argv[2:] for p in image_files(d)]

    plan = []    # (image, config)
    for image in committed + generated + extra + [big]:
        plan.append((image, "clip336"))
    for image in committed + generated[::3]:
        plan += [(image, name) for name in CONFIGS if name != "clip336"]
    lines = []
    for i, (image, cname) in enumerate(plan):
        stem = os.path.splitext(os.path.basename(image))[0]
        case = os.path.join(out, "cases", f"{i:04d}-{stem}-{cname}.safetensors")
        with Image.open(image) as im:
            small = im.size[0] * im.size[1] <= RAM_LIMIT_PIXELS
        write_case(case, image, cname, full_config(cname), small)
        lines.append("\t".join([f"{stem}/{cname}", os.path.abspath(image),
                                os.path.abspath(os.path.join(out, "configs", cname)),
                                os.path.abspath(case), str(int(small))]))
    with open(os.path.join(out, "manifest.tsv"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"oracle_image: {len(plan)} cases x 2 modes from {len(committed)} committed, "
          f"{len(generated) + 1} generated and {len(extra)} extra images -> {out}")


if __name__ == "__main__":
    main()
