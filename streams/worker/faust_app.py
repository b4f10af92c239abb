"""The Faust app of a worker and its topics, as the settings say."""

import faust

from streams.settings import Settings


def create_app(settings: Settings) -> faust.App:
    """The Faust app: consumer group, table store and web port from the settings."""
    return faust.App(
        settings.app_id,
        broker=settings.broker,
        store=settings.store,
        datadir=str(settings.data_dir),
        web_port=settings.web_port,
        web_bind=settings.web_bind,
        web_host=settings.advertised_web_host,
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        **settings.faust_options(),
    )


def raw_topic(app: faust.App, settings: Settings, *names: str) -> faust.TopicT:
    """The topics ``names``, read and written as bytes: the codecs are riskstream's own."""
    return app.topic(
        *names,
        partitions=settings.partitions,
        key_serializer="raw",
        value_serializer="raw",
    )
