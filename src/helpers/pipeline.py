"""The input pipeline: in-memory uint8 faces to float32 batches, augmented for training,
or drawn from fixed augmented views (a distilled student's)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ._quiet import import_keras, import_tensorflow

if TYPE_CHECKING:
    import keras
    import tensorflow as tf


def augmenter(seed: int, shift: float = 0.1, rotation: float = 10.0,
              zoom: float = 0.1) -> keras.Sequential:
    """Flip, then shifts up to ``shift`` of the side, rotations up to ``rotation`` degrees
    and zoom up to ``zoom`` (a strength of 0 leaves its layer out): FER2013's 28K faces
    are too few for the large models to learn without them."""
    keras = import_keras()
    layers = keras.layers
    steps = [layers.RandomFlip("horizontal", seed=seed)]
    if shift:
        steps.append(layers.RandomTranslation(shift, shift, fill_mode="nearest", seed=seed + 1))
    if rotation:
        steps.append(layers.RandomRotation(rotation / 360, fill_mode="nearest", seed=seed + 2))
    if zoom:
        steps.append(layers.RandomZoom(zoom, fill_mode="nearest", seed=seed + 3))
    return keras.Sequential(steps, name="augment")


def make_dataset(images: np.ndarray, targets: np.ndarray, batch_size: int, *,
                 training: bool, augment: bool = True, seed: int = 0, shift: float = 0.1,
                 rotation: float = 10.0, zoom: float = 0.1) -> tf.data.Dataset:
    """Float32 batches of pixels 0-255 (the models rescale them themselves)."""
    tf = import_tensorflow()
    ds = tf.data.Dataset.from_tensor_slices((images, targets))
    if training:
        ds = ds.shuffle(len(targets), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size)
    if training and augment:
        aug = augmenter(seed, shift, rotation, zoom)
        prepare = lambda x, y: (aug(tf.cast(x, tf.float32), training=True), y)  # noqa: E731
    else:
        prepare = lambda x, y: (tf.cast(x, tf.float32), y)  # noqa: E731
    ds = ds.map(prepare, num_parallel_calls=tf.data.AUTOTUNE, deterministic=not training)
    return ds.prefetch(tf.data.AUTOTUNE)


def apply_views(images: tf.Tensor, transforms: tf.Tensor) -> tf.Tensor:
    """Each image warped by its projective transform (``distill.view_transforms``)."""
    keras = import_keras()
    return keras.ops.image.affine_transform(images, transforms, interpolation="bilinear",
                                            fill_mode="nearest")


def make_view_batches(images: np.ndarray, transforms: np.ndarray,
                      batch_size: int = 512) -> tf.data.Dataset:
    """Float32 batches of one fixed view of each image, in order (for the teacher)."""
    tf = import_tensorflow()
    ds = tf.data.Dataset.from_tensor_slices((images, transforms)).batch(batch_size)
    ds = ds.map(lambda x, t: apply_views(tf.cast(x, tf.float32), t),
                num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


def make_view_dataset(images: np.ndarray, labels: np.ndarray, view_probs: np.ndarray,
                      transforms: np.ndarray, batch_size: int, seed: int = 0) -> tf.data.Dataset:
    """A distilled student's training batches: each epoch, each image in one of its fixed
    views drawn at random, with the teacher's probabilities on that very view packed after
    the label (``distill.pack_targets``' layout)."""
    tf = import_tensorflow()
    views = view_probs.shape[1]
    ds = tf.data.Dataset.from_tensor_slices((images, labels, view_probs, transforms))
    ds = ds.shuffle(len(labels), seed=seed, reshuffle_each_iteration=True).batch(batch_size)

    def draw(x, y, probs, warp):
        pick = tf.random.uniform(tf.shape(y), maxval=views, dtype=tf.int32, seed=seed)
        image = apply_views(tf.cast(x, tf.float32), tf.gather(warp, pick, batch_dims=1))
        soft = tf.cast(tf.gather(probs, pick, batch_dims=1), tf.float32)
        return image, tf.concat([tf.cast(y, tf.float32)[:, None], soft], axis=1)

    ds = ds.map(draw, num_parallel_calls=tf.data.AUTOTUNE, deterministic=False)
    return ds.prefetch(tf.data.AUTOTUNE)
