import pytest

from cnnlab.cli.main import main


@pytest.fixture
def run(capsys):
    """Run ``cnnlab ARGS`` in-process; returns (exit code, stdout, stderr)."""

    def call(*args: str) -> tuple[int, str, str]:
        code = main(list(args))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return call


@pytest.fixture
def fails(run):
    """Run a command that must fail: exit code 2 and one line on stderr without a traceback."""

    def call(*args: str) -> str:
        code, out, err = run(*args)
        assert code == 2, (out, err)
        assert len(err.strip().splitlines()) == 1, err
        assert "Traceback" not in err
        return err.strip()

    return call
