import json


def test_models_lists_the_registry_with_computed_numbers(run):
    code, out, _ = run("models", "lenet*")
    assert code == 0
    rows = {line.split()[0]: line for line in out.splitlines()[1:]}
    assert set(rows) == {"lenet1", "lenet4", "lenet5", "lenet5_modern"}
    assert "60,000" in rows["lenet5"] and "415,680" in rows["lenet5"] and "LeCun (1998)" in rows["lenet5"]


def test_models_json(run):
    code, out, _ = run("models", "resnet20", "--format", "json")
    assert code == 0
    assert json.loads(out) == [
        {"model": "resnet20", "paper": "He (2015)", "params": 269_722, "MACs": 40_551_040,
         "input": "3x32x32", "smallest input": "3x1x1"}
    ]  # fmt: skip


def test_summary_text_and_totals(run):
    code, out, _ = run("summary", "lenet5")
    assert code == 0
    assert out.splitlines()[0].split() == [
        "layer",
        "type",
        "output",
        "params",
        "window",
        "MACs",
        "FLOPs",
        "field",
        "jump",
    ]
    assert "lenet5 at 1x32x32: 60,000 trainable parameters, plus 840 fixed values" in out
    assert out.rstrip().splitlines()[-1].startswith("note: c3: 240,000 MACs as computed")


def test_summary_json_is_machine_readable(run):
    code, out, _ = run("summary", "resnet18", "--input", "3x64x64", "--format", "json")
    data = json.loads(out)
    assert code == 0 and data["input"] == [3, 64, 64] and data["total_params"] == 11_689_512
    assert set(data["layers"][0]) == {"name", "type", "output_shape", "params", "window", "macs", "flops", "rf", "jump"}


def test_bad_model_and_input(fails):
    assert "unknown model 'resnet19'; did you mean" in fails("summary", "resnet19")
    assert "lenet5 needs an input from 1x32x32 to 1x35x35" in fails("summary", "lenet5", "--input", "1x28x28")
    assert "expected CxHxW" in fails("summary", "lenet5", "--input", "big")
    assert "no model matches 'nothing*'" in fails("models", "nothing*")
    # the library's errors point at list_models(); the command line's at the command that lists them
    assert fails("summary", "zzzzqq").endswith("unknown model 'zzzzqq'; `cnnlab models` lists them")
    assert "list_models()" not in fails("show", "filters", "zzzzqq")
