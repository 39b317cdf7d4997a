"""The workloads' ground truth, checked without alloctop: each workload runs under
malloc_log.so (an LD_PRELOAD recorder of every application call to the traced
functions) and replay.py recomputes the truth from the recording with alloctop's
accounting rules. A mismatch means a workload's model is wrong or it made calls it did
not count (stdio, thread creation... in the measured phase). No root needed."""
import harness

NEEDS_ROOT = False


def test_truth_basic():
    harness.assert_truth_matches_recording("basic")


def test_truth_basic_nofp():
    harness.assert_truth_matches_recording("basic", nofp=True)


def test_truth_basic_launch():
    """--nowait: the truth covers the whole process (launch mode traces it all)."""
    harness.assert_truth_matches_recording("basic", launch=True)


def test_truth_basic_launch_nofp():
    harness.assert_truth_matches_recording("basic", nofp=True, launch=True)


def test_truth_threads():
    harness.assert_truth_matches_recording("threads")


def test_truth_threads_nofp():
    harness.assert_truth_matches_recording("threads", nofp=True)


def test_truth_deep():
    harness.assert_truth_matches_recording("deep")


def test_truth_deep_nofp():
    harness.assert_truth_matches_recording("deep", nofp=True)


def test_truth_churn():
    harness.assert_truth_matches_recording("churn")


def test_truth_churn_nofp():
    harness.assert_truth_matches_recording("churn", nofp=True)
