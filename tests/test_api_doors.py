"""The Python API checks its arguments at its doors: a wrong one is one line that names the argument and what it
expects (a ``TypeError`` for what a call is about, a :class:`~cnnlab.SettingError` for a setting), never an error
from deep inside (``'int' object is not iterable``, torch's ``empty(): argument 'size'``, ``no attribute 'to'``).

Each row of :data:`REFUSED` is one call with one wrong argument, the error's type and a pattern its message must
match. Every row is cheap: nothing trains, and a run is an untrained checkpoint.
"""

import json
from pathlib import Path

import numpy as np
import pytest
from torch import nn

import cnnlab
from cnnlab import Run, SettingError, TrainConfig
from cnnlab.inspection.summary import summarize
from tests._checkpoints import write_checkpoint


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("run")
    write_checkpoint(folder / "last.pt")
    return Run(folder)


DIGIT = np.eye(28, dtype=np.float32)
EXPECTS_A_SUBJECT = r"^what: expected a model name, a run \(cnnlab.Run\), its directory or a checkpoint, or a trained"
EXPECTS_A_MODEL = r"^model: expected an nn.Module, a model name, a run"
EXPECTS_SIZES = r"^input_size: expected \(C, H, W\), 3 positive whole numbers such as \(1, 32, 32\), got "
EXPECTS_A_PATH = r": expected a path \(a str or a pathlib.Path\), got "


def _animation():
    return cnnlab.animate("conv", input=4, kernel=3)


# (call, error, pattern): each call gets the run fixture
REFUSED = {
    # cnnlab.train and its settings: refused before anything is built or written
    "train(123)": (lambda r: cnnlab.train(123), SettingError, r"^model: expected a model name .* got 123$"),
    "train([name])": (lambda r: cnnlab.train(["lenet5"]), SettingError, r"^model: expected a model name"),
    "train(epoch=3)": (
        lambda r: cnnlab.train("lenet5", epoch=3),
        SettingError,
        r"^unknown setting epoch \(did you mean epochs\?\)$",
    ),
    "train(epochz=3, lrr=1)": (lambda r: cnnlab.train("lenet5", epochz=3, lrr=1), SettingError, r"^unknown settings"),
    "train(config_file=123)": (
        lambda r: cnnlab.train("lenet5", config_file=123),
        SettingError,
        "^config_file" + EXPECTS_A_PATH,
    ),
    "train(resume=123)": (lambda r: cnnlab.train(resume=123), SettingError, "^resume" + EXPECTS_A_PATH),
    "train(log=5)": (lambda r: cnnlab.train("lenet5", log=5), SettingError, r"^log: expected a function .* got 5$"),
    "train(output=123)": (lambda r: cnnlab.train("lenet5", output=123), SettingError, "^output" + EXPECTS_A_PATH),
    "train(epochs=True)": (
        lambda r: cnnlab.train("lenet5", epochs=True),
        SettingError,
        r"^epochs: expected a positive",
    ),
    "train(epochs=2.5)": (lambda r: cnnlab.train("lenet5", epochs=2.5), SettingError, r"^epochs: expected a positive"),
    "train(TrainConfig, config_file=...)": (  # the file was ignored
        lambda r: cnnlab.train(TrainConfig("lenet5"), config_file="settings.json"),
        SettingError,
        r"^a TrainConfig is resolved already: give config_file with a model name",
    ),
    "TrainConfig.from_dict(5)": (lambda r: TrainConfig.from_dict(5), TypeError, r"^data: expected a dict of settings"),
    "train(augment=5)": (lambda r: cnnlab.train("lenet5", augment=5), SettingError, r"^augment: expected a list of"),
    # summary, trace_graph, draw: what they describe, and its input size
    "summary(object())": (lambda r: cnnlab.summary(object()), TypeError, EXPECTS_A_MODEL + r".* got an object$"),
    "summary(None)": (lambda r: cnnlab.summary(None), TypeError, EXPECTS_A_MODEL + r".* got None$"),
    "summary(123)": (lambda r: cnnlab.summary(123), TypeError, EXPECTS_A_MODEL + r".* got an int \(123\)$"),
    "summary(input_size='1x32x32')": (
        lambda r: cnnlab.summary("lenet5", input_size="1x32x32"),
        SettingError,
        EXPECTS_SIZES + r"'1x32x32' \(write \(1, 32, 32\)\)$",
    ),
    "summary((1, -32, 32))": (lambda r: cnnlab.summary("lenet5", (1, -32, 32)), SettingError, EXPECTS_SIZES),
    "summary((1, 0, 32))": (lambda r: cnnlab.summary("lenet5", (1, 0, 32)), SettingError, EXPECTS_SIZES),
    "summary(32)": (lambda r: cnnlab.summary("lenet5", 32), SettingError, EXPECTS_SIZES + "32$"),
    "summary((32, 32))": (lambda r: cnnlab.summary("lenet5", (32, 32)), SettingError, EXPECTS_SIZES),
    "summary((1.0, 32, 32))": (lambda r: cnnlab.summary("lenet5", (1.0, 32, 32)), SettingError, EXPECTS_SIZES),
    "summary((True, 32, 32))": (lambda r: cnnlab.summary("lenet5", (True, 32, 32)), SettingError, EXPECTS_SIZES),
    "summary(run, (1, 0, 32))": (lambda r: cnnlab.summary(r, (1, 0, 32)), SettingError, EXPECTS_SIZES),
    "summary(depth='1')": (lambda r: cnnlab.summary("lenet5", depth="1"), SettingError, r"^depth: expected a positive"),
    "summary(Path(nowhere))": (
        lambda r: cnnlab.summary(Path("no/such/run")),
        ValueError,
        r"^no/such/run does not exist \(expected a run directory or a \.pt checkpoint\)$",
    ),
    "summarize(module, (1, -3, 3))": (
        lambda r: summarize(nn.Conv2d(1, 2, 3), (1, -3, 3)),
        SettingError,
        EXPECTS_SIZES,
    ),
    "draw(object())": (lambda r: cnnlab.draw(object()), TypeError, EXPECTS_A_MODEL),
    "draw(input_size='1x32x32')": (lambda r: cnnlab.draw("lenet5", "1x32x32"), SettingError, EXPECTS_SIZES),
    "draw((1, -1, 32))": (lambda r: cnnlab.draw("lenet5", (1, -1, 32)), SettingError, EXPECTS_SIZES),
    "Drawing.save(123)": (lambda r: cnnlab.draw("lenet5").save(123), SettingError, "^out" + EXPECTS_A_PATH),
    "trace_graph(None)": (lambda r: cnnlab.trace_graph(None), TypeError, EXPECTS_A_MODEL),
    "trace_graph(within=5)": (lambda r: cnnlab.trace_graph("lenet5", within=5), SettingError, r"^within: expected"),
    # cnnlab.show
    "feature_maps(layers=5)": (
        lambda r: cnnlab.show.feature_maps("lenet5", layers=5),
        SettingError,
        r"^layers: expected layer names \(one, or a list of them\), got 5$",
    ),
    "feature_maps(layers=[5])": (lambda r: cnnlab.show.feature_maps("lenet5", layers=[5]), SettingError, "^layers"),
    "feature_maps(layers=[])": (
        lambda r: cnnlab.show.feature_maps("lenet5", layers=[]),
        SettingError,
        r"^layers: .* got none$",
    ),
    "feature_maps(object())": (lambda r: cnnlab.show.feature_maps(object()), TypeError, EXPECTS_A_SUBJECT),
    "feature_maps(None)": (lambda r: cnnlab.show.feature_maps(None), TypeError, EXPECTS_A_SUBJECT + ".* got None$"),
    "feature_maps(image=5)": (
        lambda r: cnnlab.show.feature_maps("lenet5", image=5),
        ValueError,
        r"^int #0 is an int; expected an image file's path",
    ),
    "feature_maps(scale=5)": (lambda r: cnnlab.show.feature_maps("lenet5", scale=5), SettingError, "^scale must be"),
    "filters(layer=['c1'])": (lambda r: cnnlab.show.filters("lenet5", layer=["c1"]), SettingError, r"^layer: expected"),
    "filters(tile_pixels='24')": (
        lambda r: cnnlab.show.filters("lenet5", tile_pixels="24"),
        SettingError,
        r"^tile_pixels: expected a positive whole number, got '24'$",
    ),
    "receptive_field(unit=5)": (
        lambda r: cnnlab.show.receptive_field("lenet5", layer="c3", unit=5),
        SettingError,
        r"^unit: expected \(y, x\), 2 whole numbers such as \(0, 0\), got 5$",
    ),
    "receptive_field(unit=(1.5, 0))": (
        lambda r: cnnlab.show.receptive_field("lenet5", layer="c3", unit=(1.5, 0)),
        SettingError,
        "^unit: expected",
    ),
    "receptive_field(unit=(True, 0))": (
        lambda r: cnnlab.show.receptive_field("lenet5", layer="c3", unit=(True, 0)),
        SettingError,
        "^unit: expected",
    ),
    "receptive_field(layer=5)": (
        lambda r: cnnlab.show.receptive_field("lenet5", layer=5, unit=(0, 0)),
        SettingError,
        r"^layer: expected a layer name, got 5$",
    ),
    "connectivity('8')": (lambda r: cnnlab.show.connectivity("8"), SettingError, r"^inputs: expected a positive"),
    "connectivity(8.5)": (lambda r: cnnlab.show.connectivity(8.5), SettingError, r"^inputs: expected a positive"),
    "connectivity(65)": (  # 10**6 inputs were 10**12 lines: drawn for ever
        lambda r: cnnlab.show.connectivity(65),
        SettingError,
        r"^inputs: at most 64 inputs are drawn, got 65$",
    ),
    "connectivity(kernel=0)": (lambda r: cnnlab.show.connectivity(8, 0), SettingError, r"^kernel: expected a positive"),
    "curves(123)": (lambda r: cnnlab.show.curves(123), TypeError, r"^runs: expected a run \(cnnlab.Run\) or its dir"),
    "curves(None)": (lambda r: cnnlab.show.curves(None), TypeError, r"^runs: expected .* got None$"),
    "confusion(123)": (lambda r: cnnlab.show.confusion(123), TypeError, r"^what: expected a run"),
    "layers('')": (lambda r: cnnlab.show.layers(""), ValueError, EXPECTS_A_SUBJECT + ".* got ''$"),
    "layers(123)": (lambda r: cnnlab.show.layers(123), TypeError, EXPECTS_A_SUBJECT),
    # cnnlab.Run and its verbs
    "Run(123)": (lambda r: Run(123), SettingError, "^path" + EXPECTS_A_PATH + "123$"),
    "Run(None)": (lambda r: Run(None), SettingError, "^path" + EXPECTS_A_PATH),
    "Run('')": (lambda r: Run(""), SettingError, "^path" + EXPECTS_A_PATH),
    "Run([path])": (lambda r: Run([r.path]), SettingError, "^path" + EXPECTS_A_PATH),
    "predict(None)": (lambda r: r.predict(None), TypeError, r"^images: expected image files, .* got None$"),
    "predict(k=0)": (lambda r: r.predict(DIGIT, k=0), SettingError, r"^k: expected a positive whole number, got 0$"),
    "predict(preprocess=5, strict=False)": (
        lambda r: r.predict(DIGIT, preprocess=5, strict=False),
        SettingError,
        r"^preprocess must be one of",
    ),
    "predict(123)": (lambda r: r.predict(123), ValueError, r"^int #0 is an int; expected an image file's path"),
    "export(out=123)": (lambda r: r.export(out=123), SettingError, "^out" + EXPECTS_A_PATH),
    "report(out=123)": (lambda r: r.report(out=123), SettingError, "^out" + EXPECTS_A_PATH),
    "report(worst=-1)": (lambda r: r.report(worst=-1), SettingError, r"^worst: expected a whole number >= 0, got -1$"),
    "report(worst='3')": (lambda r: r.report(worst="3"), SettingError, r"^worst: expected a whole number >= 0"),
    "evaluate(data=5)": (lambda r: r.evaluate(data=5), SettingError, r"^data: expected a dataset name, got 5$"),
    "evaluate(data_dir=5)": (lambda r: r.evaluate(data_dir=5), SettingError, "^data_dir" + EXPECTS_A_PATH),
    # cnnlab.animate and its Animation
    "animate(input=(4, True))": (
        lambda r: cnnlab.animate("conv", input=(4, True), kernel=3),
        SettingError,
        r"^input: expected a whole number or a \(height, width\) pair, got \(4, True\)$",
    ),
    "animate(seed=-1)": (
        lambda r: cnnlab.animate("conv", input=4, kernel=3, values=True, seed=-1),
        SettingError,
        r"^seed: expected a whole number >= 0, got -1$",
    ),
    "animate(seed='a')": (
        lambda r: cnnlab.animate("conv", input=4, kernel=3, values=True, seed="a"),
        SettingError,
        "^seed: expected",
    ),
    "Animation.save(123)": (lambda r: _animation().save(123), SettingError, "^out" + EXPECTS_A_PATH),
    "Animation.gif(0)": (
        lambda r: _animation().gif(0),
        SettingError,
        r"^seconds_per_frame: expected a number of seconds from 0.001 to 60, got 0$",
    ),
    "Animation.save(seconds_per_frame=-1)": (
        lambda r: _animation().save("a.gif", seconds_per_frame=-1),
        SettingError,
        "^seconds_per_frame: expected",
    ),
    # cnnlab.compare_layers
    "compare_layers('1x32x32')": (
        lambda r: cnnlab.compare_layers("1x32x32", 6, 5),
        SettingError,
        r"^input_shape: expected \(C, H, W\), .* \(write \(1, 32, 32\)\)$",
    ),
    "compare_layers(None)": (lambda r: cnnlab.compare_layers(None, 6, 5), SettingError, "^input_shape: expected"),
    "compare_layers((1.5, 32, 32))": (
        lambda r: cnnlab.compare_layers((1.5, 32, 32), 6, 5),
        SettingError,
        "^input_shape: expected",
    ),
    "compare_layers(out_channels=6.0)": (
        lambda r: cnnlab.compare_layers((1, 32, 32), 6.0, 5),
        SettingError,
        r"^out_channels: expected a positive whole number, got 6.0$",
    ),
    "compare_layers(out_channels=True)": (
        lambda r: cnnlab.compare_layers((1, 32, 32), True, 5),
        SettingError,
        "^out_channels: expected",
    ),
    # cnnlab.experiment: refused before anything runs
    "experiment(seeds='0')": (
        lambda r: cnnlab.experiment("weights", seeds="0"),
        SettingError,
        r"^seeds: expected seeds, whole numbers >= 0 \(a list, or one\), got '0'$",
    ),
    "experiment(5)": (lambda r: cnnlab.experiment(5), TypeError, r"^name: expected an experiment's name"),
    "experiment(out=123)": (lambda r: cnnlab.experiment("weights", out=123), SettingError, "^out" + EXPECTS_A_PATH),
    "experiment(log=5)": (lambda r: cnnlab.experiment("weights", log=5), SettingError, "^log: expected a function"),
    "experiment(data=5)": (lambda r: cnnlab.experiment("weights", data=5), SettingError, "^data: expected a dataset"),
    "experiment(data_dir=5)": (
        lambda r: cnnlab.experiment("weights", data_dir=5),
        SettingError,
        "^data_dir" + EXPECTS_A_PATH,
    ),
    # the registry
    "create_model(5)": (lambda r: cnnlab.create_model(5), TypeError, r"^name: expected a model name .* got 5$"),
    "create_model(None)": (lambda r: cnnlab.create_model(None), TypeError, r"^name: expected a model name"),
    "get_spec([name])": (lambda r: cnnlab.get_spec(["lenet5"]), TypeError, r"^name: expected a model name"),
    "list_models(None)": (lambda r: cnnlab.list_models(None), TypeError, r"^pattern: expected a shell-style pattern"),
    "create_model(aux_logits='yes')": (
        lambda r: cnnlab.create_model("googlenet", aux_logits="yes"),
        SettingError,
        r"^aux_logits: expected True or False, got 'yes'$",
    ),
    "create_model(dropout='a')": (
        lambda r: cnnlab.create_model("head_twin", dropout="a"),
        SettingError,
        r"^dropout: expected a number, got 'a'$",
    ),
    "create_model(num_classes=0)": (
        lambda r: cnnlab.create_model("lenet5", num_classes=0),
        SettingError,
        r"^num_classes: expected a positive whole number, got 0$",
    ),
    "Picture.save(123)": (lambda r: cnnlab.show.connectivity().save(123), SettingError, "^out" + EXPECTS_A_PATH),
    "receptive_fields(5)": (
        lambda r: cnnlab.layers.shapes.receptive_fields(5),
        TypeError,
        r"^windows: expected a sequence of Window, got 5$",
    ),
    "receptive_fields([None])": (
        lambda r: cnnlab.layers.shapes.receptive_fields([None]),
        TypeError,
        r"^windows: expected a sequence of Window, got an item None$",
    ),
    "load_torchvision_weights(object())": (
        lambda r: cnnlab.load_torchvision_weights(object(), {}),
        TypeError,
        r"^model: expected a cnnlab model \(create_model\(...\)\), got object$",
    ),
    "trace_graph(lenet5, within=nosuch)": (
        lambda r: cnnlab.trace_graph("lenet5", within="nosuch"),
        SettingError,
        r"^within: 'nosuch' is not a block of lenet5; it has none \(its layers are not grouped in blocks\)$",
    ),
}


@pytest.mark.parametrize(("call", "error", "pattern"), REFUSED.values(), ids=REFUSED.keys())
def test_a_wrong_argument_is_one_line_that_names_it(call, error, pattern, run, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # nothing may be written; if something is, it is written here
    with pytest.raises(error, match=pattern) as caught:
        call(run)
    assert "\n" not in str(caught.value)
    assert not any(tmp_path.iterdir())


def test_a_string_of_layer_names_is_one_layer():
    assert cnnlab.show.feature_maps("lenet5", layers="c1").about == "c1 6x28x28"
    assert cnnlab.show.feature_maps("lenet5", layers=("c1", "c3")).about == "c1 6x28x28, c3 16x10x10"


def test_the_size_arithmetic_takes_numpy_integers_too():
    shapes = cnnlab.layers.shapes
    assert shapes.conv_output_size(np.int64(32), np.int32(5)) == 28
    assert shapes.Window(np.int64(3), stride=np.int8(2)).effective_kernel == 3


def test_numpy_integers_are_whole_numbers_and_come_out_as_python_ints(run):
    assert cnnlab.create_model("lenet5", num_classes=np.int64(3)).num_classes == 3
    assert str(cnnlab.summary("lenet5", np.array([1, 32, 32]).tolist())) == str(cnnlab.summary("lenet5", (1, 32, 32)))
    assert str(cnnlab.summary("lenet5", tuple(np.array([1, 32, 32])))) == str(cnnlab.summary("lenet5"))
    assert len(run.predict(DIGIT, k=np.int64(2))[0].top) == 2
    assert cnnlab.animate("conv", input=np.int64(4), kernel=np.int32(3)).output_shape == (2, 2)
    assert cnnlab.compare_layers((np.int64(1), 32, 32), np.int64(6), np.int64(5)).output_shape == (6, 28, 28)
    config = TrainConfig("lenet5", epochs=np.int64(3), lr=np.float32(0.5), milestones=[np.int64(2)])
    assert type(config.epochs) is int and type(config.milestones[0]) is int and type(config.lr) is float
    assert json.loads(json.dumps(config.to_dict()))["epochs"] == 3


def test_one_item_where_a_list_is_meant_is_a_list_of_one(monkeypatch):
    config = TrainConfig("lenet5").replace(augment="shift", milestones=30)
    assert config.augment == ("shift",) and config.milestones == (30,)
    given = []
    monkeypatch.setattr("cnnlab.experiments.run_experiment", lambda name, settings: given.append(settings))
    cnnlab.experiment("weights", seeds=0, out="somewhere")
    assert given[0].seeds == (0,) and given[0].out == Path("somewhere")


def test_paths_are_taken_as_pathlib_paths_too():
    config = TrainConfig("lenet5", output=Path("runs") / "a", data_dir=Path("~/data"))
    assert config.output == str(Path("runs") / "a") and config.data_dir == "~/data"
    assert json.loads(json.dumps(config.to_dict()))["output"] == config.output


def test_a_setting_error_keeps_what_the_command_line_spells_as_a_flag():
    with pytest.raises(SettingError) as caught:
        cnnlab.summary("lenet5", input_size="1x32x32")
    assert caught.value.settings == ["input_size"]
    assert caught.value.spelled(lambda name, value: "--" + name.replace("_", "-")).startswith("--input-size: ")


def test_lists_of_runs_are_runs(run):
    with pytest.raises(ValueError, match="has no metrics yet") as caught:
        cnnlab.show.curves([run.path])  # a list of one is the run, not a path to make of a list
    assert str(run.path) in str(caught.value)


def test_a_bad_image_is_its_prediction_s_error_and_a_bad_setting_is_raised(run):
    predictions = run.predict([DIGIT, 5], strict=False)
    assert predictions[0].error is None and predictions[1].error.startswith("int #1 is an int")
    with pytest.raises(SettingError, match="^preprocess must be one of"):
        run.predict([DIGIT, 5], preprocess="nope", strict=False)
