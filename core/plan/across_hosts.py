"""What one host's tasks hand another host's in a run. pyinfra plans each host's deploy.py on its
own, side by side, so the result of a task that another host's task needs (the db host's MariaDB
(re)start, after which the app hosts reload gunicorn) is handed over here, by the host's name, from
the task's return value; it is read when the operations run, once every host is planned. Kept on
pyinfra's state: one run's results, never another's."""

from pyinfra import host, state


def hand_over(**results):
    """Hands the current host's `results` (each an _if condition) to the other hosts' tasks."""
    _handed(state._get_module()).setdefault(host.name, {}).update(results)


def handed(name, result):
    """An _if condition true once host `name`'s `result` is: false when it handed none."""
    run = state._get_module()  # this run's, whichever is current when the condition is asked

    def condition():
        handed_condition = _handed(run).get(name, {}).get(result)
        return bool(handed_condition and handed_condition())

    return condition


def _handed(run):
    if not hasattr(run, "flask_deploy_handed"):
        run.flask_deploy_handed = {}
    return run.flask_deploy_handed
