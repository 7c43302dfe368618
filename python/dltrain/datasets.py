"""Datasets as NumPy arrays, read by dltrain's own readers (IDX, CIFAR-10 batches)."""
from . import _core


def load(name_or_folder, with_info=False):
    """``(x, y), (x_test, y_test)`` for a catalog name (fetched or installed) or a folder.

    Images are uint8 (N, H, W, C) and labels int32 (N,); the arrays hold the memory the reader
    filled, without a copy. ``with_info=True`` adds a dict with the class names and the folder.
    """
    train, test, class_names, folder = _core.load_dataset(str(name_or_folder))
    if with_info:
        return train, test, {"class_names": list(class_names), "folder": folder}
    return train, test
