"""Tests of ___name___."""

from ___name___.main import main


def test_main_needs_a_dataflow():
    """Outside a dataflow, the node refuses to start and says how to start it."""
    try:
        main()
    except RuntimeError as err:
        assert "dora run" in str(err)
    else:
        raise AssertionError("main() ran outside a dataflow")


if __name__ == "__main__":
    test_main_needs_a_dataflow()
    print("ok")
