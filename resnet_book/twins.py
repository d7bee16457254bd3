"""Plain and residual twins: two networks that differ only in their shortcuts.

A comparison of a plain network with a residual one says something about shortcuts only if
nothing else differs. Built one after the other from the same seed, the two do not even start
alike: the residual network's projection shortcuts draw random numbers in the middle of the
stack, so every layer after the first projection starts from other weights than its plain
counterpart. :func:`copy_matching_weights` gives the plain network the residual one's weights
layer by layer, :func:`starting_from` makes a build function that does so from the right
random numbers, and :func:`plain_and_residual` returns builders for such a pair, the form
:func:`resnet_book.train_seeds` takes.
"""
from __future__ import annotations


def _weight_layers(model):
    return [layer for layer in model.layers if layer.weights]


def _signature(layer):
    return type(layer), [tuple(weight.shape) for weight in layer.weights]


def copy_matching_weights(source, target) -> int:
    """Set every weight layer of ``target`` to the weights of its counterpart in ``source``.

    The counterpart of a layer is the next layer of ``source``, in build order, of the same
    type and weight shapes; layers of ``source`` that ``target`` lacks (projection shortcuts)
    are passed over. Raises ``ValueError`` when some layer of ``target`` has no counterpart.
    Returns the number of layers copied (all of ``target``'s weight layers).
    """
    remaining = _weight_layers(source)
    copied = 0
    for layer in _weight_layers(target):
        while remaining and _signature(remaining[0]) != _signature(layer):
            remaining.pop(0)
        if not remaining:
            raise ValueError(
                f"{source.name} has no layer left that matches {layer.name} of "
                f"{target.name} ({type(layer).__name__} with weights of shapes "
                f"{_signature(layer)[1]}): the two are not plain and residual twins.")
        layer.set_weights(remaining.pop(0).get_weights())
        copied += 1
    return copied


def starting_from(source, build):
    """A build function for ``rb.train_seeds``: ``build()``'s network, given the weights of
    ``source()``'s wherever their layers correspond (:func:`copy_matching_weights`).

    It calls ``source()`` first, so after ``rb.seed(s)`` the network it copies from draws the
    same random numbers as ``source()`` called alone: the run of ``source`` and the run of this
    builder start from the same weights. Called second, ``source()`` would draw other numbers
    (Keras seeds each initialiser from Python's random state as its layer is made).
    """
    def twin():
        start = source()
        model = build()
        copy_matching_weights(start, model)
        return model

    return twin


def plain_and_residual(network, depth, input_shape, **residual_options):
    """``{"plain-DEPTH": build, "resnet-DEPTH": build}`` for ``rb.train_seeds``.

    ``network(depth, input_shape, residual=..., **options)`` builds one network (the chapters'
    ``cifar_network``). The residual builder builds the residual network; the plain builder
    builds the same residual network first (from the same seed, so with the same weights),
    then the plain one, and copies the residual network's weights into it. After
    ``rb.seed(s)``, the two therefore start from the same weights in every layer they share.
    ``residual_options`` (``shortcut_option``) go to the residual network only. A
    zero-initialised residual network has no plain twin: the plain one would copy its zero
    scales and start dead. Compare it with the residual network that starts with every
    scale at one, which is its twin (the initialiser of a scale draws no random numbers).
    """
    if residual_options.get("zero_init"):
        raise ValueError(
            "plain_and_residual() makes no plain twin of a zero-initialised residual network: "
            "it would copy the zero scales and start dead. Compare "
            "network(depth, input_shape, zero_init=True) with the residual network built "
            "from the same seed without it.")

    def residual():
        return network(depth, input_shape, residual=True, **residual_options)

    def plain():
        return network(depth, input_shape, residual=False)

    return {f"plain-{depth}": starting_from(residual, plain), f"resnet-{depth}": residual}
