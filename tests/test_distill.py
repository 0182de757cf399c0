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
        distill.teacher_records(("plain_cnn-8271-s0-teacher",), tmp_path)
    teacher_config = TrainConfig("plain_cnn", 8271, epochs=1, limit=128, ablation="teacher")
    teacher, _ = training.train(teacher_config, data=small_data, out_dir=tmp_path)
    student_config = replace(teacher_config, seed=1, ablation="student",
                             teacher=teacher.run_id)
    student, _ = training.train(student_config, data=small_data, out_dir=tmp_path)
    assert student.config.teacher == "plain_cnn-8271-s0-teacher"
    assert set(student.history) >= {"accuracy", "val_accuracy", "loss"}
    # The teacher's own scores are recorded; one member's are its record's.
    own = distill.recorded_teacher_scores([teacher], tmp_path)
    assert set(own) == set(records.SCORED_SPLITS)
    assert own["private"].hits == teacher.scores["private"].hits

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
    rebuilt = distill.soft_labels([teacher], small_data, tmp_path)
    assert np.allclose(rebuilt["val"], cached_val, atol=2e-3)
    # The cache serves a machine without the teacher's weights...
    (tmp_path / teacher.weights).unlink()
    again = distill.soft_labels([teacher], small_data, tmp_path)
    assert again["val"].shape == (len(small_data.val), 7)
    # ...but not a retrained teacher (another record): then it needs the weights.
    retrained = replace(teacher, train_seconds=teacher.train_seconds + 1)
    records.write_record(retrained, tmp_path)
    with pytest.raises(FileNotFoundError, match="are not on this machine"):
        distill.soft_labels(distill.teacher_records((teacher.run_id,), tmp_path),
                            small_data, tmp_path)
    with pytest.raises(ValueError, match="trained on another file"):
        distill.soft_labels([replace(teacher, data_sha256="0")], small_data, tmp_path)



def test_fixed_views_are_the_same_everywhere_and_warp_as_described():
    one = distill.view_transforms(5, 3, shift=0.1, rotation=15, zoom=0.1)
    assert one.shape == (5, 3, 8) and np.array_equal(
        one, distill.view_transforms(5, 3, shift=0.1, rotation=15, zoom=0.1))
    # No augmentation but the flip: each view is the image or its mirror image.
    image = np.random.default_rng(0).uniform(0, 255, (4, 48, 48, 1)).astype("float32")
    plain = distill.view_transforms(4, 2, shift=0, rotation=0, zoom=0)
    for j in range(2):
        warped = np.asarray(pipeline.apply_views(image, plain[:, j]))
        mirrored = plain[:, j, 0] < 0
        expected = np.where(mirrored[:, None, None, None], image[:, :, ::-1], image)
        assert np.allclose(warped, expected, atol=1e-3)
    # A pure shift moves the content by whole pixels.
    shifted = plain[:1, 0].copy()
    shifted[0, :6] = [1, 0, -3, 0, 1, 0]  # input x = output x - 3: content moves right by 3
    moved = np.asarray(pipeline.apply_views(image[:1], shifted))
    assert np.allclose(moved[0, :, 3:], image[0, :, :-3], atol=1e-3)


@pytest.mark.slow
def test_a_student_learns_from_an_ensemble_on_the_views_it_trains_on(small_data, tmp_path,
                                                                     monkeypatch):
    members = [TrainConfig("plain_cnn", 8271, seed=s, epochs=1, limit=128, ablation="teacher")
               for s in (0, 1)]
    teachers = [training.train(c, data=small_data, out_dir=tmp_path)[0] for c in members]
    student = TrainConfig("mobilenet", 8099, epochs=1, limit=128, ablation="student",
                          teacher="+".join(t.run_id for t in teachers), teacher_views=3)
    record, _ = training.train(student, data=small_data, out_dir=tmp_path)
    assert record.teacher_fingerprint == records.teacher_fingerprint(teachers)
    cache = distill.cache_path(student.teachers, 3, tmp_path)
    assert cache.name == "plain_cnn-8271-s0-teacher__plain_cnn-8271-s1-teacher-views3.npz"
    with np.load(cache) as stored:
        views = stored["train"].astype("float32")
    assert views.shape == (len(small_data.train), 3, 7)
    # The cache answers as long as the views are drawn and applied by the same code.
    def recompute(*args, **kwargs):
        raise RuntimeError("recomputed from the weights")

    monkeypatch.setattr(distill, "load_teacher", recompute)
    view_args = dict(views=3, shift=student.shift, rotation=student.rotation, zoom=student.zoom)
    cached = distill.soft_labels(teachers, small_data, tmp_path, **view_args)
    assert np.allclose(cached["train"], views)
    monkeypatch.setattr(distill, "_view_code", lambda: "other view code")
    with pytest.raises(RuntimeError, match="recomputed"):
        distill.soft_labels(teachers, small_data, tmp_path, **view_args)
    monkeypatch.undo()
    # The soft label of a view is the members' mean prediction on that very view.
    keras = import_keras()
    transforms = distill.view_transforms(len(small_data.train), 3, student.shift,
                                         student.rotation, student.zoom)
    mean = np.mean([keras.models.load_model(tmp_path / t.weights, compile=False).predict(
        pipeline.make_view_batches(small_data.train.images[:64], transforms[:64, 2]), verbose=0)
        for t in teachers], axis=0)
    assert np.allclose(views[:64, 2], mean, atol=3e-3)
    # The ensemble's own Private score: the members' mean probabilities, scored.
    private = small_data.private
    mean = np.mean([keras.models.load_model(tmp_path / t.weights, compile=False).predict(
        pipeline.make_dataset(private.images, private.labels, 512, training=False), verbose=0)
        for t in teachers], axis=0)
    own = distill.recorded_teacher_scores(teachers, tmp_path)["private"]
    assert own.accuracy == pytest.approx(np.mean(mean.argmax(axis=1) == private.labels))
    assert distill.scores_path(student.teachers, tmp_path).exists()
    # A retrained member makes the recorded scores stale: none are reported.
    retrained = [replace(teachers[0], train_seconds=1.0), teachers[1]]
    assert distill.recorded_teacher_scores(retrained, tmp_path) == {}


def test_a_students_batch_pairs_each_drawn_view_with_that_views_soft_label():
    images = np.random.default_rng(1).uniform(0, 255, (16, 48, 48, 1)).astype("uint8")
    plain = distill.view_transforms(16, 1, shift=0, rotation=0, zoom=0)[:, 0]
    identity = np.tile([1, 0, 0, 0, 1, 0, 0, 0], (16, 1)).astype("float32")
    mirror = identity.copy()
    mirror[:, 0], mirror[:, 2] = -1, 47
    transforms = np.stack([identity, mirror], axis=1)
    soft = np.zeros((16, 2, 7), "float32")
    soft[:, 0, 5], soft[:, 1, 6] = 1, 1  # view 0 says class 5, view 1 says class 6
    seen = set()
    for x, y in pipeline.make_view_dataset(images, np.arange(16) % 5, soft, transforms, 16):
        x, y = np.asarray(x), np.asarray(y)
        for i in range(16):
            view = int(np.argmax(y[i, 1:])) - 5
            label = int(y[i, 0])
            source = images[[k for k in range(16) if k % 5 == label]]
            want = source if view == 0 else source[:, :, ::-1]
            assert any(np.allclose(x[i], w, atol=1e-3) for w in want), (i, view)
            seen.add(view)
    assert plain.shape == (16, 8) and seen == {0, 1}
