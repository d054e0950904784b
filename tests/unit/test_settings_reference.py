"""Every setting is documented from the model: `tweetpay settings`, docs/settings.md and
.env.example are generated from it, and these tests fail when the files drift."""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

from click.testing import CliRunner

from bot.cli import main
from config import reference
from config.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
REGENERATE = "regenerate: tweetpay settings --markdown > docs/settings.md; "\
    "tweetpay settings --env-example > .env.example"


def test_every_setting_has_a_description() -> None:
    missing = [name for name, field in Settings.model_fields.items()
               if not (field.description or "").strip()]
    assert not missing, f"add a docstring under these fields in config/settings.py: {missing}"


def test_docs_settings_md_is_generated_from_the_model() -> None:
    assert (ROOT / "docs" / "settings.md").read_text() == reference.markdown(), REGENERATE


def test_env_example_is_generated_from_the_model() -> None:
    assert (ROOT / ".env.example").read_text() == reference.env_example(), REGENERATE


def test_the_command_lists_every_variable_with_default_and_description() -> None:
    result = CliRunner().invoke(main, ["settings"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == len(Settings.model_fields)
    for entry, line in zip(reference.entries(), lines, strict=True):
        assert line.startswith(entry.variable + " ")
        assert (entry.default or "(empty)") in line and line.endswith(entry.description)


def test_no_secret_value_is_printed() -> None:
    output = CliRunner().invoke(main, ["settings"]).output + reference.env_example()
    defaults = Settings.model_construct()
    assert defaults.pin_pepper.get_secret_value() not in output
    assert defaults.data_keys[0].get_secret_value() not in output
    assert defaults.x_consumer_secret.get_secret_value() not in output


def test_version() -> None:
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0 and version("tweetpay") in result.output
