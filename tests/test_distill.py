"""Knowledge distillation: the loss, the packed targets and the teacher cache."""

from dataclasses import replace

import numpy as np
import pytest

from helpers import distill, pipeline, records, training
from helpers._quiet import import_keras
from helpers.config import TrainConfig


def test_distillation_loss_is_cross_entropy_plus_scaled_kl():
    import keras

    student = np.array([[0.7, 0.2, 0.1, 0, 0, 0, 0], [0.1, 0.1, 0.8, 0, 0, 0, 0]], "float32") + 1e-3
    student /= student.sum(axis=1, keepdims=True)
    teacher = np.array([[0.5, 0.3, 0.1, 0.05, 0.02, 0.02, 0.01],
                        [0.05, 0.05, 0.6, 0.1, 0.1, 0.05, 0.05]], "float32")
    labels = np.array([0, 2])
    targets = distill.pack_targets(labels, teacher)
    ce = keras.losses.sparse_categorical_crossentropy(labels, student).numpy()
    hard_only = distill.distillation_loss(alpha=1.0).call(targets, student).numpy()
    assert hard_only == pytest.approx(ce, rel=1e-5)

    t = 4.0

    def soften(p):
        return p ** (1 / t) / (p ** (1 / t)).sum(axis=1, keepdims=True)

    s_t, t_t = soften(student), soften(teacher)
    kl = (t_t * (np.log(t_t) - np.log(s_t))).sum(axis=1)
    loss = distill.distillation_loss(alpha=0.25, temperature=t)
    assert loss.call(targets, student).numpy() == pytest.approx(0.25 * ce + 0.75 * t ** 2 * kl,
                                                                rel=1e-4)
    assert float(loss(targets, student)) == pytest.approx(
        (0.25 * ce + 0.75 * t ** 2 * kl).mean(), rel=1e-4)  # Keras averages over the batch
    same = distill.pack_targets(labels, student)
    assert distill.distillation_loss(alpha=0.0).call(same, student).numpy() == pytest.approx(
        0, abs=1e-5)
    assert distill.accuracy_metric()(targets, student).numpy().tolist() == [1.0, 1.0]
    with pytest.raises(ValueError, match="2 labels but 1 soft labels"):
        distill.pack_targets(labels, teacher[:1])


def test_a_distilled_model_saves_and_loads(tmp_path):
    import keras

    config = TrainConfig("plain_cnn", 8271, epochs=1)
    model, _ = training.build_model(config)
    training.compile_model(model, config, 1, loss=distill.distillation_loss(0.3, 2.0),
                           metrics=(distill.accuracy_metric(),))
    images = np.random.default_rng(0).uniform(0, 255, (8, 48, 48, 1)).astype("float32")
    targets = distill.pack_targets(np.arange(8) % 7, np.full((8, 7), 1 / 7))
    history = model.fit(images, targets, epochs=1, verbose=0)
    assert "accuracy" in history.history
    model.save(tmp_path / "student.keras")
    again = keras.models.load_model(tmp_path / "student.keras")
    assert again.loss.get_config()["alpha"] == 0.3 and again.loss.temperature == 2.0
    assert np.allclose(again.predict(images, verbose=0), model.predict(images, verbose=0))


@pytest.mark.slow
def test_a_student_learns_from_its_teachers_cached_soft_labels(small_data, tmp_path):
    with pytest.raises(FileNotFoundError, match="train it first"):
        distill.teacher_record("plain_cnn-8271-s0-teacher", tmp_path)
    teacher_config = TrainConfig("plain_cnn", 8271, epochs=1, limit=128, ablation="teacher")
    teacher, _ = training.train(teacher_config, data=small_data, out_dir=tmp_path)
    student_config = replace(teacher_config, seed=1, ablation="student",
                             teacher=teacher.run_id)
    student, _ = training.train(student_config, data=small_data, out_dir=tmp_path)
    assert student.config.teacher == "plain_cnn-8271-s0-teacher"
    assert set(student.history) >= {"accuracy", "val_accuracy", "loss"}

    cache = tmp_path / "teachers" / "plain_cnn-8271-s0-teacher.npz"
    with np.load(cache) as stored:
        assert stored["train"].shape == (len(small_data.train), 7)
        assert np.allclose(stored["train"].astype("float32").sum(axis=1), 1, atol=1e-2)
        cached_val = stored["val"].astype("float32")
    # The soft labels are the teacher's own predictions (float16 in the cache).
    keras = import_keras()
    model = keras.models.load_model(tmp_path / teacher.weights, compile=False)
    predicted = model.predict(pipeline.make_dataset(small_data.val.images, small_data.val.labels,
                                                    512, training=False), verbose=0)
    assert np.allclose(cached_val, predicted, atol=2e-3)
    # A damaged cache is rebuilt from the weights, never trusted.
    cache.write_bytes(b"version https://git-lfs.github.com/spec/v1\n")
    rebuilt = distill.teacher_probabilities(teacher, small_data, tmp_path)
    assert np.allclose(rebuilt["val"], cached_val, atol=2e-3)
    # The cache serves a machine without the teacher's weights...
    (tmp_path / teacher.weights).unlink()
    again = distill.teacher_probabilities(teacher, small_data, tmp_path)
    assert again["val"].shape == (len(small_data.val), 7)
    # ...but not a retrained teacher (another record): then it needs the weights.
    retrained = replace(teacher, train_seconds=teacher.train_seconds + 1)
    records.write_record(retrained, tmp_path)
    with pytest.raises(FileNotFoundError, match="are not on this machine"):
        distill.teacher_probabilities(distill.teacher_record(teacher.run_id, tmp_path),
                                      small_data, tmp_path)
    with pytest.raises(ValueError, match="trained on another file"):
        distill.teacher_probabilities(replace(teacher, data_sha256="0"), small_data, tmp_path)
