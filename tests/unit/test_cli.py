"""The one command-line parser: what each command line means (nothing is run)."""

from imagehost.__main__ import cli, parser
from imagehost.consistency import DEFAULT_GRACE


def test_the_options_of_restore_and_check_go_before_or_after():
    for argv in (["restore", "--replace", "a.tar"], ["restore", "a.tar", "--replace"]):
        args = parser().parse_args(argv)
        assert (args.file, args.replace) == ("a.tar", True)
    assert parser().parse_args(["restore", "a.tar"]).replace is False
    args = parser().parse_args(["check", "--grace", "0", "--fix"])
    assert (args.fix, args.grace) == (True, 0.0)
    assert parser().parse_args(["check"]).grace == DEFAULT_GRACE


def test_no_command_and_serve_run_the_same_function():
    cli = parser()
    assert cli.parse_args([]).run is cli.parse_args(["serve"]).run
    assert cli.parse_args(["backup"]).run is not cli.parse_args(["serve"]).run


def test_misuse_prints_the_usage(capsys):
    for args in (["restore"], ["restore", "a", "b"], ["backup", "x"], ["nonsense"]):
        assert cli(args) == 2
        assert "usage:" in capsys.readouterr().err
