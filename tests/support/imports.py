"""Code to run first in a subprocess that must behave as if a package were not installed."""

BLOCK_WANDB = (
    "import sys, importlib.abc\n"
    "class Block(importlib.abc.MetaPathFinder):\n"
    "    def find_spec(self, name, path=None, target=None):\n"
    "        if name == 'wandb' or name.startswith('wandb.'):\n"
    "            raise ImportError('wandb is not installed (blocked by the test)')\n"
    "sys.meta_path.insert(0, Block())\n"
)
