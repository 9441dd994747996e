"""A backup's status is keys and numbers; each reader gets its phase and outcome in their own
language (Russian plural forms, Babel's numbers), and the log gets English."""

import pytest
import tornado.locale

from imagehost.backups import status as backup
from imagehost.backups.status import BackupStatus, outcome_text, phase_text
from imagehost.i18n import catalogs, formats


@pytest.fixture(scope="module")
def russian():
    catalogs.load()
    return tornado.locale.get("ru").translate


def copying(seen: int, total: int) -> BackupStatus:
    return BackupStatus(state="running", phase=backup.COPYING, seen=seen, total=total)


@pytest.mark.parametrize(
    ("seen", "total", "words"),
    [
        (1, 5, "скопировано 1 изображение из 5"),
        (3, 5, "скопировано 3 изображения из 5"),
        (5, 9, "скопировано 5 изображений из 9"),
        (21, 40, "скопировано 21 изображение из 40"),
        (1234, 100_000, "скопировано 1\xa0234 изображения из 100\xa0000"),
    ],
)
def test_copying_in_russian_takes_the_plural_of_the_images_seen(russian, seen, total, words):
    assert phase_text(copying(seen, total), "ru", russian) == words


def test_copying_in_english():
    assert phase_text(copying(1, 5), "en") == "1 image of 5 copied"
    assert phase_text(copying(1234, 100_000), "en") == "1,234 images of 100,000 copied"


@pytest.mark.parametrize(
    ("phase", "english", "russian_words"),
    [
        (backup.STARTING, "starting", "подготовка"),
        (backup.ARCHIVE, "writing the database archive", "запись архива базы данных"),
        (backup.MANIFEST, "writing the manifest", "запись манифеста"),
        (backup.FINISHING, "finishing", "завершение"),
        (backup.DONE, "done", "готово"),
    ],
)
def test_every_other_phase_in_both_languages(russian, phase, english, russian_words):
    status = BackupStatus(state="running", phase=phase)
    assert phase_text(status, "en") == english
    assert phase_text(status, "ru", russian) == russian_words


def test_a_status_written_by_an_older_version_shows_its_own_text(russian):
    old = BackupStatus(state="running", phase="copying images (3 of 9)")
    assert phase_text(old, "ru", russian) == "copying images (3 of 9)"


def test_a_finished_run_counts_its_images_and_files(russian):
    done = BackupStatus(state="done", phase=backup.DONE, records=5, files=10)
    assert outcome_text(done, "en") == "5 images, 10 files"
    assert outcome_text(done, "ru", russian) == "5 изображений, 10 файлов"
    one = BackupStatus(state="done", phase=backup.DONE, records=1, files=2, left_out=2)
    assert outcome_text(one, "en") == (
        "1 image, 2 files; 2 images deleted or changed during the backup were left out"
    )
    assert outcome_text(one, "ru", russian) == (
        "1 изображение, 2 файла; 2 изображения, удалённые или изменённые во время копирования, "
        "пропущены"
    )


@pytest.mark.parametrize(
    ("reason", "english", "russian_words"),
    [
        (
            backup.INTERRUPTED,
            "the backup stopped before it finished (its process ended)",
            "резервное копирование остановилось, не закончившись (его процесс завершился)",
        ),
        (
            backup.APP_STOPPED,
            "the app stopped during the backup",
            "приложение остановилось во время резервного копирования",
        ),
        (
            backup.LEASE_LOST,
            "the backup lost its lease (the database was out of reach too long)",
            "резервное копирование потеряло аренду (база данных слишком долго была недоступна)",
        ),
    ],
)
def test_why_a_run_ended_in_both_languages(russian, reason, english, russian_words):
    failed = BackupStatus(state="failed", message=reason)
    assert outcome_text(failed, "en") == english
    assert outcome_text(failed, "ru", russian) == russian_words


def test_an_error_keeps_its_own_words(russian):
    failed = BackupStatus(state="failed", message=backup.ERROR, detail="OSError: disk on fire")
    assert outcome_text(failed, "ru", russian) == "OSError: disk on fire"


def test_percent_as_each_language_writes_it():
    assert formats.percent(33, "en") == "33%"
    assert formats.percent(33, "ru") == "33\xa0%"
