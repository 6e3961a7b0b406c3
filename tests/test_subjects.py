"""One resolver for what a call is about (a model name, a run, its directory or a checkpoint, a trained model),
and the public calls that take any of them: ``cnnlab.summary``, ``cnnlab.trace_graph``, ``cnnlab.draw``."""

import pytest
from torch import nn

from cnnlab.api import draw, summary, trace_graph
from cnnlab.run import Run
from cnnlab.run_directory import RunDirectory
from cnnlab.subjects import network, trained_model
from tests._checkpoints import write_checkpoint


@pytest.fixture
def run_dir(tmp_path):
    write_checkpoint(tmp_path / "best.pt", "resnet20")
    return tmp_path


def test_a_name_is_the_model_with_seeded_random_weights_and_a_name_wins_over_a_path(tmp_path, monkeypatch):
    first, second = trained_model("lenet5"), trained_model("lenet5")
    assert first.random_weights and first.name == "lenet5"
    assert all((a == b).all() for a, b in zip(first.model.parameters(), second.model.parameters(), strict=True))
    (tmp_path / "lenet5").mkdir()
    monkeypatch.chdir(tmp_path)
    assert trained_model("lenet5").random_weights  # ./lenet5 names the directory


def test_a_run_its_directory_and_its_checkpoint_give_the_trained_weights(run_dir):
    for what in (run_dir, str(run_dir / "best.pt"), RunDirectory(run_dir)):
        trained = trained_model(what)
        assert trained.name == "resnet20" and trained.checkpoint == run_dir / "best.pt" and trained.epoch == 3
    run = Run(run_dir)
    assert trained_model(run) is run.trained()  # a Run's loaded model is reused, not read again
    assert trained_model(run.trained()) is run.trained()


def test_what_is_neither_a_name_nor_a_path_is_refused_with_close_names(tmp_path):
    with pytest.raises(ValueError, match="neither a run directory, a checkpoint nor a model name; did you mean lenet5"):
        trained_model("lenet55")  # lenet1, lenet4 and lenet5 are models
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ValueError, match="is not a cnnlab run directory"):
        trained_model(tmp_path)


def test_a_summary_describes_names_and_modules_as_given_and_a_run_at_the_size_it_trained_on(run_dir):
    module = nn.Sequential(nn.Conv2d(1, 2, 3))
    assert network(module, (1, 8, 8)) == (module, (1, 8, 8))
    assert network("lenet5") == ("lenet5", None)
    assert network("nowhere") == ("nowhere", None)  # the registry says which names are close
    resolved, size = network(run_dir)
    assert isinstance(resolved, nn.Module) and size == (3, 32, 32)
    assert network(run_dir, (3, 64, 64))[1] == (3, 64, 64)

    described = summary(run_dir)
    assert described.model == "resnet20" and described.input == (3, 32, 32) and described.trainable_params == 269_722
    assert str(summary(run_dir / "best.pt")) == str(described) == str(summary(Run(run_dir)))
    with pytest.raises(ValueError, match="unknown model 'nowhere'"):
        summary("nowhere")


def test_graphs_and_drawings_of_a_run_are_of_its_trained_network(run_dir):
    graph = trace_graph(run_dir)
    assert graph.model == "resnet20" and graph.input == (3, 32, 32)
    drawing = draw(run_dir, style="blocks")
    assert drawing.model == "resnet20" and drawing.input == (3, 32, 32) and drawing.style == "blocks"
