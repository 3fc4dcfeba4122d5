"""Periodic jobs of the pipeline app, registered in phantoms.cron; each calls one service."""


def send_notifications():
    from pipeline.services.notify import notify

    return notify()
