"""The networks the chapters have already built, for the chapters that come after them.

Each chapter builds its networks in the open; once a chapter has taught a network, later
chapters may take it from here instead of repeating the code (the tests check that these
match the chapters' own definitions). Nothing here is an exercise's answer.

- ``plain_network``: chapter 1's plain network (no normalisation, He initialisation).
- ``cifar_network``: chapter 2's plain and residual networks with batch normalisation, in
  He et al.'s CIFAR-10 layout (6n + 2 weight layers in three stages of 16, 32, 64 filters),
  with chapter 4's shortcut options and chapter 3's zero-initialised last BN scale.
"""
from __future__ import annotations

import keras
from keras import layers

STAGE_FILTERS = (16, 32, 64)
SHORTCUTS = ("A", "B", "C")


def _blocks_per_stage(depth: int) -> int:
    n, remainder = divmod(depth - 2, 6)
    if remainder or n < 1:
        raise ValueError(f"depth must be 6n + 2 (8, 14, 20, ...), got {depth}")
    return n


# Chapter 1 ---------------------------------------------------------------------------------

def plain_block(a, filters, stride=1, initializer="he_normal"):
    """a^[l] -> a^[l+2]: two 3x3 convolutions, each followed by a ReLU (chapter 1)."""
    z1 = layers.Conv2D(filters, 3, strides=stride, padding="same",
                       kernel_initializer=initializer)(a)
    a1 = layers.ReLU()(z1)
    z2 = layers.Conv2D(filters, 3, padding="same", kernel_initializer=initializer)(a1)
    return layers.ReLU()(z2)


def plain_network(depth, input_shape, classes=10, initializer="he_normal"):
    """Chapter 1's plain network of ``depth`` = 6n + 2 weight layers, without normalisation."""
    n = _blocks_per_stage(depth)
    inputs = keras.Input(shape=input_shape)
    a = layers.ReLU()(layers.Conv2D(16, 3, padding="same",
                                    kernel_initializer=initializer)(inputs))
    for stage, filters in enumerate(STAGE_FILTERS):
        for block in range(n):
            stride = 2 if stage > 0 and block == 0 else 1
            a = plain_block(a, filters, stride, initializer)
    a = layers.GlobalAveragePooling2D()(a)
    outputs = layers.Dense(classes, activation="softmax")(a)
    return keras.Model(inputs, outputs, name=f"plain-{depth}")


# Chapters 2-4 ------------------------------------------------------------------------------

def conv_bn(a, filters, kernel_size=3, stride=1, gamma_initializer="ones"):
    """z = BN(W * a): a convolution without bias (BN's shift replaces it), then BN."""
    z = layers.Conv2D(filters, kernel_size, strides=stride, padding="same", use_bias=False,
                      kernel_initializer="he_normal")(a)
    return layers.BatchNormalization(momentum=0.9, gamma_initializer=gamma_initializer)(z)


class ZeroPadShortcut(layers.Layer):
    """Option A: subsample by the stride and pad the new channels with zeros (no weights)."""

    def __init__(self, filters, stride, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.stride = filters, stride

    def call(self, a):
        a = a[:, :: self.stride, :: self.stride, :]
        extra = self.filters - a.shape[-1]
        return keras.ops.pad(a, [[0, 0], [0, 0], [0, 0], [0, extra]])

    def compute_output_shape(self, input_shape):
        batch, height, width, _ = input_shape
        size = lambda n: None if n is None else -(-n // self.stride)  # noqa: E731 (ceil)
        return (batch, size(height), size(width), self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "stride": self.stride}


def shortcut(a, filters, stride=1, option="B"):
    """The shortcut of a residual block, matched to the block's output shape (chapter 4)."""
    if option not in SHORTCUTS:
        raise ValueError(f"shortcut option must be one of {SHORTCUTS}, got {option!r}")
    same_shape = stride == 1 and a.shape[-1] == filters
    if option == "C" or (option == "B" and not same_shape):
        return conv_bn(a, filters, kernel_size=1, stride=stride)
    if option == "A" and not same_shape:
        return ZeroPadShortcut(filters, stride)(a)
    return a


def residual_block(a, filters, stride=1, shortcut_option="B", zero_init=False):
    """a^[l+2] = g(z^[l+2] + a^[l]), with BN after each convolution (chapter 2)."""
    a1 = layers.ReLU()(conv_bn(a, filters, stride=stride))
    z2 = conv_bn(a1, filters, gamma_initializer="zeros" if zero_init else "ones")
    return layers.ReLU()(layers.Add()([z2, shortcut(a, filters, stride, shortcut_option)]))


def plain_bn_block(a, filters, stride=1):
    """The plain block with BN after each convolution: chapter 2's fair comparison."""
    a1 = layers.ReLU()(conv_bn(a, filters, stride=stride))
    return layers.ReLU()(conv_bn(a1, filters))


def cifar_network(depth, input_shape, classes=10, residual=True, shortcut_option="B",
                  zero_init=False):
    """He et al.'s CIFAR-10 network of ``depth`` = 6n + 2 layers, plain or residual, with BN."""
    n = _blocks_per_stage(depth)
    inputs = keras.Input(shape=input_shape)
    a = layers.ReLU()(conv_bn(inputs, 16))
    for stage, filters in enumerate(STAGE_FILTERS):
        for block in range(n):
            stride = 2 if stage > 0 and block == 0 else 1
            if residual:
                a = residual_block(a, filters, stride, shortcut_option, zero_init)
            else:
                a = plain_bn_block(a, filters, stride)
    a = layers.GlobalAveragePooling2D()(a)
    outputs = layers.Dense(classes, activation="softmax")(a)
    kind = "resnet" if residual else "plain"
    return keras.Model(inputs, outputs, name=f"{kind}-{depth}")
