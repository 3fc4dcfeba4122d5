"""Tests that fail on main at the end of stop 18, each with what is known of why.

They are marked xfail and not run, so the rest of the suite stays a gate; each is the first work of the
next stop (README, "Tests": known failures). Remove an entry when its test passes again.
"""

CHAOS = ("fails since the real platform protocols, renditions and connected accounts met in one merge: "
         "the multi-step protocols need more than the chaos drains allow, or a master they accept")

KNOWN_FAILURES = {
    "tests/api/test_operations.py::test_metrics_counts_everything":
        "fails on main after the platform, analytics and editor work merged; cause not yet found",
    "tests/admin/test_publishing.py::test_retry_without_dead_letter_uses_retry_publication":
        "the publish stage now probes the master for renditions; these tests give it bytes that are not a video",
    "tests/analytics/test_readback.py::test_a_batch_never_exceeds_what_the_platform_accepts":
        "fails on main after the platform, analytics and editor work merged; cause not yet found",
    "tests/chaos/test_breaker_outage.py::test_outage_costs_only_probes_and_heals_itself":
        CHAOS,
    "tests/chaos/test_dequeue_kills.py::test_two_queue_workers_killed_around_dequeue_lose_nothing_and_post_once":
        CHAOS,
    "tests/chaos/test_graceful_shutdown.py::test_sigterm_that_stops_the_render_hands_it_back[twice]":
        CHAOS,
    "tests/chaos/test_kill_and_flush.py::test_sigkill_in_every_stage_and_a_flush_lose_nothing":
        CHAOS,
    "tests/chaos/test_lost_at_dequeue.py::test_a_two_queue_worker_killed_between_dequeue_and_start_loses_nothing":
        CHAOS,
    "tests/chaos/test_lost_at_dequeue.py::test_a_stopped_worker_holding_a_publication_does_not_hold_it_up":
        CHAOS,
    "tests/chaos/test_outage_patience.py::test_an_outage_shorter_than_the_window_needs_nobody":
        CHAOS,
    "tests/chaos/test_outage_patience.py::test_an_outage_longer_than_the_window_ends_in_a_dead_letter_that_says_so":
        CHAOS,
    "tests/chaos/test_publishing_under_faults.py::test_faulty_platforms_lose_nothing_and_never_double_post":
        CHAOS,
    "tests/chaos/test_publishing_under_faults.py::test_a_requeued_letter_asks_the_platform_before_posting_again":
        CHAOS,
    "tests/connections/test_connect_flow.py::test_connect_stores_the_account_and_an_encrypted_token_then_publishes[instagram]":
        ("Instagram refuses a master shorter than 3 s since renditions check the limits; "
         "passes alone after the fixture became 3 s; not yet seen passing in a full run"),
    "tests/security/test_fuzz.py::test_integration_token":
        ("schemathesis finds an answer that does not match the schema after the API's status moved "
         "to /api/status/ and the lean list landed"),
    "tests/security/test_fuzz.py::test_token_with_every_role":
        ("schemathesis finds an answer that does not match the schema after the API's status moved "
         "to /api/status/ and the lean list landed"),
    "tests/providers/test_remote_render.py::TestSandbox::test_the_runner_never_resubmits_while_a_remote_id_exists":
        "fails on main after the platform, analytics and editor work merged; cause not yet found",
    "tests/test_web_server.py::test_peak_connections_stay_within_the_pool_under_load":
        "fails on main after the platform, analytics and editor work merged; cause not yet found",
}
