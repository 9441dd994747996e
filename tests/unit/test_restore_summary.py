"""What `restore` prints when it is done: the counts, and one line for each account of the
backup that it left out because another account has its name."""

from imagehost.backups.accounts import SkippedAccount
from imagehost.backups.restore import RestoreReport
from imagehost.commands import restore_summary


def test_an_account_left_out_gets_its_own_line_saying_how_to_get_it():
    report = RestoreReport(
        "imagehost backup", records=5, records_added=2, files_written=4,
        skipped_accounts=[SkippedAccount("alice", 3, 1, 2), SkippedAccount("Bob", 1, 0, 1)],
    )  # fmt: skip
    lines = restore_summary(report, replace=False)
    assert lines[0] == (
        "restored from a imagehost backup: 5 records (2 added, 0 already there, 4 left out); "
        "4 files written, 0 already there"
    )
    skipped = [line for line in lines if line.startswith("skipped: ")]
    assert skipped == [
        "skipped: the backup's account alice was not restored, nor its 3 images, 1 album and "
        "2 API tokens: an account in the database already has that name; to get it, delete "
        "that account (the admin's Users page) and restore again, or restore with --replace (the "
        "database becomes the backup's, without that account)",
        "skipped: the backup's account Bob was not restored, nor its 1 image, 0 albums and "
        "1 API token: an account in the database already has that name; to get it, delete "
        "that account (the admin's Users page) and restore again, or restore with --replace (the "
        "database becomes the backup's, without that account)",
    ]


def test_a_restore_that_left_nothing_out_says_nothing_of_it():
    lines = restore_summary(RestoreReport("mongodump archive", records=1, records_added=1), False)
    assert lines == [
        "restored from a mongodump archive: 1 records (1 added, 0 already there); "
        "0 files written, 0 already there"
    ]
