"""Export formats, their sizes, int8 agreement, side-by-side latency and failures by name."""

import json
from dataclasses import replace

import numpy as np
import pytest

from helpers import compression, training
from helpers.config import TrainConfig
from helpers.data import Split

FAMILIES = (("mobilenet", 8099), ("plain_cnn", 8271), ("hw3_scaled", 19761))
# The shrunk HW3 CNN, six Dropout(0.5) layers deep, learns nothing in four epochs on
# 4,096 faces at any size or rate tried (its probabilities barely move, less than
# one int8 step), so int8 agreement is checked on the two families that do learn.
LEARNS_IN_FOUR_EPOCHS = {"mobilenet", "plain_cnn"}


@pytest.fixture(scope="module")
def trained(real_data, tmp_path_factory):
    """Three tiny models trained for four epochs on 4,096 real images, with their records."""
    out = tmp_path_factory.mktemp("results")
    cut = lambda s, n: Split(s.images[:n], s.labels[:n])  # noqa: E731
    data = replace(real_data, train=cut(real_data.train, 4096), val=cut(real_data.val, 256),
                   public=cut(real_data.public, 256), private=cut(real_data.private, 256))
    models = {}
    for family, target in FAMILIES:
        config = TrainConfig(family, target, epochs=4, warmup_epochs=0, batch_size=32,
                             augment=False)  # enough steps for BatchNorm's moving averages
        record, model = training.train(config, data=data,
                                       out_dir=out)
        models[family] = (record, model)
    return out, data, models


@pytest.mark.slow
@pytest.mark.parametrize("family", [f for f, _ in FAMILIES])
def test_every_format_converts_and_int8_agrees_with_the_float_model(trained, family):
    out, data, models = trained
    _, model = models[family]
    calibration = compression.calibration_images(data, n=64)
    files = {fmt: compression.export(model, fmt, calibration) for fmt in compression.FORMATS}
    sizes = {fmt: len(content) for fmt, content in files.items()}
    assert sizes["litert_int8"] < sizes["litert_float16"] < sizes["litert_float32"]
    assert sizes["litert_dynamic_int8"] < sizes["litert_float32"]
    images = data.private.images.astype(np.float32)
    keras_prob = model.predict(images, verbose=0)
    float_prob = compression.predictor(model, "litert_float32", files["litert_float32"])(images)
    np.testing.assert_allclose(float_prob, keras_prob, atol=1e-5)  # another runtime, same net
    int8 = compression.LiteRTModel(files["litert_int8"])
    scale, zero = int8.output["quantization"]
    int8_prob = (int8(images).astype(np.float32) - zero) * scale
    assert int8_prob.shape == keras_prob.shape and np.allclose(int8_prob.sum(axis=1), 1, atol=0.05)
    if family not in LEARNS_IN_FOUR_EPOCHS:
        return
    # Agreeing with the float model proves something only if its answers move with the face.
    assert keras_prob.std(axis=0).max() > 0.01 and len(set(keras_prob.argmax(axis=1))) > 1
    # Full-integer quantisation rounds every activation to 256 levels: on a model this
    # small the probabilities stay within a few hundredths and the predicted class is
    # the same for at least 80% of faces.
    assert np.abs(int8_prob - keras_prob).mean() < 0.03
    assert (int8_prob.argmax(axis=1) == keras_prob.argmax(axis=1)).mean() >= 0.8


@pytest.mark.slow
def test_latency_compares_formats_in_one_run(trained):
    _, data, models = trained
    _, model = models["mobilenet"]
    lite = compression.export(model, "litert_float32", None)
    predictors = {"keras_float32": compression.predictor(model, "keras_float32", b""),
                  "litert_float32": compression.predictor(model, "litert_float32", lite)}
    times = compression.latencies(predictors, data.private.images[0], runs=30, warmup=5)
    assert set(times) == set(predictors) and all(len(t) == 30 for t in times.values())
    # One image through the interpreter against a Keras call, side by side.
    assert np.median(times["litert_float32"]) < np.median(times["keras_float32"])


@pytest.mark.slow
def test_a_failed_conversion_is_named_and_the_other_models_finish(trained, monkeypatch):
    out, data, models = trained
    real_export = compression.export

    def broken(model, fmt, calibration):
        if model.name.startswith("plain_cnn") and fmt == "litert_int8":
            raise RuntimeError("converter says: quantization of op FOO is not supported\nmore")
        return real_export(model, fmt, calibration)
    monkeypatch.setattr(compression, "export", broken)
    done, failed = compression.run(out, data=data, runs=5)
    assert sorted(done) == ["hw3_scaled-19761-s0", "mobilenet-8099-s0"]
    assert list(failed) == ["plain_cnn-8271-s0"]
    assert "litert_int8 conversion failed: converter says: quantization" in failed[
        "plain_cnn-8271-s0"]
    assert not compression.record_path("plain_cnn-8271-s0", out).exists()
    assert not list((out / "compression").glob(".*"))  # no temporary left behind
    stored = compression.read(compression.record_path("mobilenet-8099-s0", out))
    assert set(stored["formats"]) == set(compression.FORMATS)
    entry = stored["formats"]["litert_int8"]
    assert entry["gzip_bytes"] > 0 and entry["latency_ms_p90"] >= entry["latency_ms_median"]
    assert len(entry["private_hits"]) == len(data.private)
    # Measured models are not measured again; the failed one is still pending.
    assert [r.run_id for r in compression.pending(
        [models[f][0] for f, _ in FAMILIES], out)] == ["plain_cnn-8271-s0"]
    # The book names what has no record, and whether it could still be measured.
    kept = models["mobilenet"][0]
    lost = replace(kept, config=replace(kept.config, seed=9), weights="local_weights/gone.keras")
    left = compression.unmeasured([models[f][0] for f, _ in FAMILIES] + [lost], out)
    assert [(r.run_id, kept) for r, kept in left] == [("plain_cnn-8271-s0", True),
                                                      ("mobilenet-8099-s9", False)]
    # A model trained again makes its compression record stale: left out, and measured anew.
    assert [m["run_id"] for m in compression.load([kept], out)] == ["mobilenet-8099-s0"]
    retrained = replace(kept, train_seconds=kept.train_seconds + 1)
    assert compression.load([retrained], out) == []
    assert [r.run_id for r in compression.pending([retrained], out)] == ["mobilenet-8099-s0"]


@pytest.mark.parametrize("text, expected", [('{"schema_version": ', "not a compression record"),
                                            ("[1, 2]", "expected a JSON object")])
def test_an_unreadable_compression_record_is_refused_by_name(tmp_path, text, expected):
    path = tmp_path / "broken.json"
    path.write_text(text)
    with pytest.raises(ValueError, match=rf"broken\.json: {expected}"):
        compression.read(path)


def test_unknown_schema_version_is_refused(tmp_path):
    path = tmp_path / "x.json"
    path.write_text(json.dumps({"schema_version": 7}))
    with pytest.raises(ValueError, match="schema_version 7"):
        compression.read(path)


def test_a_model_file_that_does_not_load_is_named(tmp_path, real_data):
    from test_records import make_record

    record = make_record(weights="weights/broken.keras")
    (tmp_path / "weights").mkdir()
    (tmp_path / "weights" / "broken.keras").write_bytes(b"not a zip")
    with pytest.raises(compression.ConversionError, match="mobilenet-8099-s0: .*did not load"):
        compression.compress(record, real_data, tmp_path)


def test_a_model_trained_in_mixed_bfloat16_exports_as_its_float32_twin(real_data, tmp_path):
    from test_records import make_record

    keras = compression.import_keras()
    record = make_record()  # mobilenet-8099-s0
    built, _ = training.build_model(replace(record.config, precision="mixed_bfloat16"))
    built.save(tmp_path / "bf16.keras")  # reloaded, the model says float32, its layers do not
    model = keras.models.load_model(tmp_path / "bf16.keras", compile=False)
    assert "mixed_bfloat16" in {layer.dtype_policy.name for layer in model.layers}
    with pytest.raises(Exception, match="neither a custom op nor a flex op"):
        compression.export(model, "litert_float32", np.empty((0, 48, 48, 1), np.float32))
    twin = compression.float32_twin(model, record)
    assert {layer.dtype_policy.name for layer in twin.layers} == {"float32"}
    for ours, theirs in zip(twin.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(ours, theirs)
    images = real_data.private.images[:32].astype(np.float32)
    content = compression.export(twin, "litert_float32", images)
    litert = compression.predictor(twin, "litert_float32", content)(images)
    np.testing.assert_allclose(litert, twin(images, training=False).numpy(), atol=1e-5)
    # bfloat16 keeps 8 bits of mantissa: the two builds agree to about a percent.
    np.testing.assert_allclose(np.asarray(model(images, training=False), np.float32), litert,
                               atol=0.05)
    assert compression.float32_twin(twin, record) is twin


def test_calming_dead_batch_norm_channels_rescues_int8_and_keeps_the_float_model():
    """A batch norm after a ReLU with one dead channel: its multiplier dwarfs the live ones',
    int8 rounds theirs to zero, and calming that channel gives the float model's answers back."""
    keras = compression.import_keras()
    inputs = keras.Input((8, 8, 1))
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="conv")(inputs)
    x = keras.layers.BatchNormalization(name="bn")(x)
    x = keras.layers.Flatten()(x)
    model = keras.Model(inputs, keras.layers.Dense(7, name="logits")(x), name="toy")
    rng = np.random.default_rng(0)
    kernel = rng.normal(size=(3, 3, 1, 4)).astype(np.float32)
    kernel[..., 3] = 0  # channel 3 never fires: its ReLU output is always zero
    model.get_layer("conv").set_weights([kernel, np.array([0.5, 0.5, 0.5, -1], np.float32)])
    images = rng.random((300, 8, 8, 1)).astype(np.float32)
    live = keras.Model(inputs, model.get_layer("conv").output).predict(images, verbose=0)
    mean, var = live.mean(axis=(0, 1, 2)), live.var(axis=(0, 1, 2))
    model.get_layer("bn").set_weights([np.array([0.02, 0.02, 0.02, 1.0], np.float32),
                                       np.zeros(4, np.float32), mean, var])
    model.get_layer("logits").set_weights([rng.normal(size=(256, 7)).astype(np.float32) * 3,
                                           np.zeros(7, np.float32)])
    calm, calmed = compression.calm_dead_channels(model)
    assert calmed == 1
    float_answers = model.predict(images, verbose=0)
    np.testing.assert_allclose(calm.predict(images, verbose=0), float_answers, atol=1e-5)

    def int8_agreement(m):
        run = compression.LiteRTModel(compression.export(m, "litert_int8", images[:100]))
        return (run(images[100:]).argmax(1) == float_answers[100:].argmax(1)).mean()
    # Calibrated on its first 100 images, scored on the 200 others.
    assert int8_agreement(calm) > 0.9 > int8_agreement(model) + 0.2
    _, none = compression.calm_dead_channels(calm)
    assert none == 0
