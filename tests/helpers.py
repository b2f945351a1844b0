"""What many tests share: racing threads on a real database, and the contract's problem details."""

import threading

from django.db import connection


def race(targets, *, join_timeout: float = 90):
    """Run each callable in its own thread, all released at once; the result or the exception of each, in order.
    Each thread closes its own database connection; a thread still waiting at the end fails (a deadlock?)."""
    barrier = threading.Barrier(len(targets), timeout=30)
    outcomes = [None] * len(targets)

    def run(index, target):
        try:
            barrier.wait()
            outcomes[index] = target()
        except Exception as error:  # the outcome of a race is what the test asserts on
            outcomes[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index, target)) for index, target in enumerate(targets)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=join_timeout)
    assert not any(thread.is_alive() for thread in threads), "a thread of the race is still waiting (a deadlock?)"
    return outcomes


def assert_problem(response, status, code):
    """An RFC 9457 problem with the contract's `code`; its body."""
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert (body["status"], body["code"]) == (status, code)
    assert body["title"] and body["detail"]
    return body
