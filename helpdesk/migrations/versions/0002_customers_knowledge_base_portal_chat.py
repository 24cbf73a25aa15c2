"""Customers (roles, merge, One View, notifications, recycle bin, imports), products, assets,
service contracts and time logs, SLA group calendars, mailroom Cc watchers, the knowledge base,
the portal (access, CSAT, deflection) and live chat.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23

Columns added to tables that may already hold rows get server defaults; contacts' duplicate
keys (name_key, phone_key) are filled in from the names and phones already there.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('chat_canned_replies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=100), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_chat_canned_replies')),
    sa.UniqueConstraint('title', name=op.f('uq_chat_canned_replies_title'))
    )
    op.create_table('kb_categories',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('names', sa.JSON(), nullable=False),
    sa.Column('slug', sa.String(length=140), nullable=False),
    sa.Column('description', sa.String(length=500), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['parent_id'], ['kb_categories.id'], name=op.f('fk_kb_categories_parent_id_kb_categories')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kb_categories')),
    sa.UniqueConstraint('slug', name=op.f('uq_kb_categories_slug'))
    )
    with op.batch_alter_table('kb_categories', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_kb_categories_parent_id'), ['parent_id'], unique=False)

    op.create_table('kb_search_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('query', sa.String(length=200), nullable=False),
    sa.Column('language', sa.String(length=5), nullable=True),
    sa.Column('audience', sa.String(length=20), nullable=False),
    sa.Column('results', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kb_search_log'))
    )
    with op.batch_alter_table('kb_search_log', schema=None) as batch_op:
        batch_op.create_index('ix_kb_search_log_created', ['created_at'], unique=False)
        batch_op.create_index('ix_kb_search_log_query', ['query'], unique=False)

    op.create_table('kb_synonym_sets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('language', sa.String(length=5), nullable=False),
    sa.Column('terms', sa.String(length=1000), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kb_synonym_sets'))
    )
    op.create_table('kb_translation_groups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kb_translation_groups'))
    )
    op.create_table('products',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('code', sa.String(length=60), nullable=False),
    sa.Column('category', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_products')),
    sa.UniqueConstraint('code', name=op.f('uq_products_code'))
    )
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_products_name'), ['name'], unique=False)

    op.create_table('chat_agents',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('online', 'away', 'offline', name='agentstatus', native_enum=False, length=10), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('last_assigned_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_chat_agents_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_chat_agents'))
    )
    op.create_table('follows',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('target_type', sa.String(length=30), nullable=False),
    sa.Column('target_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_follows_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_follows')),
    sa.UniqueConstraint('user_id', 'target_type', 'target_id', name='uq_follows_user_target')
    )
    with op.batch_alter_table('follows', schema=None) as batch_op:
        batch_op.create_index('ix_follows_target', ['target_type', 'target_id'], unique=False)

    op.create_table('import_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('format', sa.String(length=10), nullable=False),
    sa.Column('status', sa.Enum('mapping', 'queued', 'running', 'done', 'failed', name='importstatus', native_enum=False, length=30), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('blob_sha256', sa.String(length=64), nullable=False),
    sa.Column('encoding', sa.String(length=40), nullable=False),
    sa.Column('detected_encoding', sa.String(length=40), nullable=False),
    sa.Column('delimiter', sa.String(length=1), nullable=False),
    sa.Column('header', sa.JSON(), nullable=False),
    sa.Column('mapping', sa.JSON(), nullable=False),
    sa.Column('all_or_nothing', sa.Boolean(), nullable=False),
    sa.Column('total_rows', sa.Integer(), nullable=False),
    sa.Column('processed_rows', sa.Integer(), nullable=False),
    sa.Column('imported_rows', sa.Integer(), nullable=False),
    sa.Column('error_count', sa.Integer(), nullable=False),
    sa.Column('errors', sa.JSON(), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['blob_sha256'], ['blobs.sha256'], name=op.f('fk_import_runs_blob_sha256_blobs')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_import_runs_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_runs'))
    )
    with op.batch_alter_table('import_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_import_runs_blob_sha256'), ['blob_sha256'], unique=False)
        batch_op.create_index(batch_op.f('ix_import_runs_user_id'), ['user_id'], unique=False)

    op.create_table('kb_articles',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('translation_group_id', sa.Integer(), nullable=False),
    sa.Column('language', sa.String(length=5), nullable=False),
    sa.Column('slug', sa.String(length=200), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('summary', sa.String(length=1000), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('body_html', sa.Text(), nullable=False),
    sa.Column('body_text', sa.Text(), nullable=False),
    sa.Column('category_id', sa.Integer(), nullable=True),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('status', sa.Enum('draft', 'in_review', 'published', 'archived', name='articlestatus', native_enum=False, length=30), nullable=False),
    sa.Column('visibility', sa.Enum('internal', 'customers', 'public', name='visibility', native_enum=False, length=30), nullable=False),
    sa.Column('publish_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('reviewer_id', sa.Integer(), nullable=True),
    sa.Column('version_number', sa.Integer(), nullable=False),
    sa.Column('view_count', sa.Integer(), nullable=False),
    sa.Column('helpful_count', sa.Integer(), nullable=False),
    sa.Column('not_helpful_count', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_kb_articles_author_id_users')),
    sa.ForeignKeyConstraint(['category_id'], ['kb_categories.id'], name=op.f('fk_kb_articles_category_id_kb_categories')),
    sa.ForeignKeyConstraint(['reviewer_id'], ['users.id'], name=op.f('fk_kb_articles_reviewer_id_users')),
    sa.ForeignKeyConstraint(['translation_group_id'], ['kb_translation_groups.id'], name=op.f('fk_kb_articles_translation_group_id_kb_translation_groups')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kb_articles')),
    sa.UniqueConstraint('slug', name=op.f('uq_kb_articles_slug')),
    sa.UniqueConstraint('translation_group_id', 'language', name=op.f('uq_kb_articles_translation_group_id'))
    )
    with op.batch_alter_table('kb_articles', schema=None) as batch_op:
        batch_op.create_index('ix_kb_articles_category_status', ['category_id', 'status'], unique=False)
        batch_op.create_index('ix_kb_articles_status_updated', ['status', 'updated_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_kb_articles_translation_group_id'), ['translation_group_id'], unique=False)

    op.create_table('kb_faqs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('language', sa.String(length=5), nullable=False),
    sa.Column('question', sa.String(length=500), nullable=False),
    sa.Column('answer', sa.Text(), nullable=False),
    sa.Column('answer_html', sa.Text(), nullable=False),
    sa.Column('category_id', sa.Integer(), nullable=True),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('visibility', sa.Enum('internal', 'customers', 'public', name='visibility', native_enum=False, length=30), nullable=False),
    sa.Column('published', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['category_id'], ['kb_categories.id'], name=op.f('fk_kb_faqs_category_id_kb_categories')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kb_faqs'))
    )
    with op.batch_alter_table('kb_faqs', schema=None) as batch_op:
        batch_op.create_index('ix_kb_faqs_language_category_position', ['language', 'category_id', 'position'], unique=False)

    op.create_table('notification_settings',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('digest', sa.Enum('off', 'daily', name='digest', native_enum=False, length=10), nullable=False),
    sa.Column('last_digest_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notification_settings_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_notification_settings'))
    )
    op.create_table('notifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('url', sa.String(length=500), nullable=False),
    sa.Column('target_type', sa.String(length=30), nullable=True),
    sa.Column('target_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notifications_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications'))
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index('ix_notifications_target', ['target_type', 'target_id'], unique=False)
        batch_op.create_index('ix_notifications_user_id', ['user_id', 'id'], unique=False)
        batch_op.create_index('ix_notifications_user_read', ['user_id', 'read_at', 'id'], unique=False)

    op.create_table('recycle_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('object_id', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=300), nullable=False),
    sa.Column('summary', sa.String(length=300), nullable=False),
    sa.Column('deleted_by_id', sa.Integer(), nullable=True),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['deleted_by_id'], ['users.id'], name=op.f('fk_recycle_entries_deleted_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recycle_entries'))
    )
    with op.batch_alter_table('recycle_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recycle_entries_deleted_at'), ['deleted_at'], unique=False)
        batch_op.create_index('ix_recycle_entries_kind_deleted', ['kind', 'deleted_at', 'id'], unique=False)

    op.create_table('assets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('serial_number', sa.String(length=120), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('organization_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.Enum('in_service', 'in_repair', 'out_of_service', 'retired', name='assetstatus', native_enum=False, length=30), nullable=False),
    sa.Column('date_sold', sa.Date(), nullable=True),
    sa.Column('warranty_end', sa.Date(), nullable=True),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_assets_contact_id_contacts')),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_assets_organization_id_organizations')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_assets_product_id_products')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assets')),
    sa.UniqueConstraint('serial_number', name=op.f('uq_assets_serial_number'))
    )
    with op.batch_alter_table('assets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assets_contact_id'), ['contact_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_assets_organization_id'), ['organization_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_assets_product_id'), ['product_id'], unique=False)
        batch_op.create_index('ix_assets_warranty_end', ['warranty_end'], unique=False)

    op.create_table('chat_topics',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=True),
    sa.Column('business_hours_id', sa.Integer(), nullable=True),
    sa.Column('routing', sa.Enum('round_robin', 'least_loaded', name='routing', native_enum=False, length=20), nullable=False),
    sa.Column('bot_enabled', sa.Boolean(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['business_hours_id'], ['business_hours.id'], name=op.f('fk_chat_topics_business_hours_id_business_hours')),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_chat_topics_group_id_groups')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_chat_topics')),
    sa.UniqueConstraint('name', name=op.f('uq_chat_topics_name'))
    )
    op.create_table('customer_activities',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('organization_id', sa.Integer(), nullable=True),
    sa.Column('actor_user_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('field', sa.String(length=60), nullable=True),
    sa.Column('old', sa.Text(), nullable=True),
    sa.Column('new', sa.Text(), nullable=True),
    sa.Column('reason', sa.String(length=1000), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_user_id'], ['users.id'], name=op.f('fk_customer_activities_actor_user_id_users')),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_customer_activities_contact_id_contacts')),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_customer_activities_organization_id_organizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_activities'))
    )
    with op.batch_alter_table('customer_activities', schema=None) as batch_op:
        batch_op.create_index('ix_customer_activities_contact_created', ['contact_id', 'created_at', 'id'], unique=False)
        batch_op.create_index('ix_customer_activities_organization_created', ['organization_id', 'created_at', 'id'], unique=False)

    op.create_table('kb_article_attachments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('article_id', sa.Integer(), nullable=False),
    sa.Column('blob_sha256', sa.String(length=64), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['article_id'], ['kb_articles.id'], name=op.f('fk_kb_article_attachments_article_id_kb_articles'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['blob_sha256'], ['blobs.sha256'], name=op.f('fk_kb_article_attachments_blob_sha256_blobs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kb_article_attachments'))
    )
    with op.batch_alter_table('kb_article_attachments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_kb_article_attachments_article_id'), ['article_id'], unique=False)

    op.create_table('kb_article_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('article_id', sa.Integer(), nullable=False),
    sa.Column('actor_user_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('field', sa.String(length=60), nullable=True),
    sa.Column('old', sa.Text(), nullable=True),
    sa.Column('new', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_user_id'], ['users.id'], name=op.f('fk_kb_article_events_actor_user_id_users')),
    sa.ForeignKeyConstraint(['article_id'], ['kb_articles.id'], name=op.f('fk_kb_article_events_article_id_kb_articles'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kb_article_events'))
    )
    with op.batch_alter_table('kb_article_events', schema=None) as batch_op:
        batch_op.create_index('ix_kb_article_events_article_created', ['article_id', 'created_at'], unique=False)

    op.create_table('kb_article_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('article_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('summary', sa.String(length=1000), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.String(length=300), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['article_id'], ['kb_articles.id'], name=op.f('fk_kb_article_versions_article_id_kb_articles'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_kb_article_versions_author_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kb_article_versions')),
    sa.UniqueConstraint('article_id', 'number', name=op.f('uq_kb_article_versions_article_id'))
    )
    op.create_table('kb_feedback',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('article_id', sa.Integer(), nullable=False),
    sa.Column('helpful', sa.Boolean(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['article_id'], ['kb_articles.id'], name=op.f('fk_kb_feedback_article_id_kb_articles'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_kb_feedback_contact_id_contacts')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_kb_feedback_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kb_feedback'))
    )
    with op.batch_alter_table('kb_feedback', schema=None) as batch_op:
        batch_op.create_index('ix_kb_feedback_article_created', ['article_id', 'created_at'], unique=False)

    op.create_table('kb_related_articles',
    sa.Column('article_id', sa.Integer(), nullable=False),
    sa.Column('related_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['article_id'], ['kb_articles.id'], name=op.f('fk_kb_related_articles_article_id_kb_articles'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['related_id'], ['kb_articles.id'], name=op.f('fk_kb_related_articles_related_id_kb_articles'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('article_id', 'related_id', name=op.f('pk_kb_related_articles'))
    )
    with op.batch_alter_table('kb_related_articles', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_kb_related_articles_related_id'), ['related_id'], unique=False)

    op.create_table('recycle_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('object_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['recycle_entries.id'], name=op.f('fk_recycle_items_entry_id_recycle_entries'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recycle_items')),
    sa.UniqueConstraint('kind', 'object_id', name=op.f('uq_recycle_items_kind'))
    )
    with op.batch_alter_table('recycle_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recycle_items_entry_id'), ['entry_id'], unique=False)

    op.create_table('service_contracts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('organization_id', sa.Integer(), nullable=True),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=False),
    sa.Column('tracking_unit', sa.Enum('hours', 'days', 'incidents', name='trackingunit', native_enum=False, length=20), nullable=False),
    sa.Column('total_units', sa.Float(), nullable=False),
    sa.Column('used_units', sa.Float(), nullable=False),
    sa.Column('used_minutes', sa.Integer(), nullable=False),
    sa.Column('hours_per_day', sa.Float(), nullable=False),
    sa.Column('status', sa.Enum('active', 'expired', 'exhausted', name='contractstatus', native_enum=False, length=20), nullable=False),
    sa.Column('sla_policy_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_service_contracts_contact_id_contacts')),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_service_contracts_organization_id_organizations')),
    sa.ForeignKeyConstraint(['sla_policy_id'], ['sla_policies.id'], name=op.f('fk_service_contracts_sla_policy_id_sla_policies'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_contracts'))
    )
    with op.batch_alter_table('service_contracts', schema=None) as batch_op:
        batch_op.create_index('ix_service_contracts_contact_status', ['contact_id', 'status'], unique=False)
        batch_op.create_index('ix_service_contracts_organization_status', ['organization_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_service_contracts_sla_policy_id'), ['sla_policy_id'], unique=False)
        batch_op.create_index('ix_service_contracts_status_end', ['status', 'end_date'], unique=False)

    op.create_table('contract_notices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contract_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=80), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['contract_id'], ['service_contracts.id'], name=op.f('fk_contract_notices_contract_id_service_contracts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contract_notices')),
    sa.UniqueConstraint('contract_id', 'key', name='uq_contract_notices_contract_key')
    )
    op.create_table('chat_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('topic_id', sa.Integer(), nullable=True),
    sa.Column('group_id', sa.Integer(), nullable=True),
    sa.Column('agent_id', sa.Integer(), nullable=True),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('organization_id', sa.Integer(), nullable=True),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.Enum('bot', 'queued', 'assigned', 'active', 'ended', name='chatstatus', native_enum=False, length=12), nullable=False),
    sa.Column('visitor_name', sa.String(length=200), nullable=False),
    sa.Column('visitor_email', sa.String(length=254), nullable=False),
    sa.Column('page_url', sa.String(length=2000), nullable=True),
    sa.Column('user_agent', sa.String(length=500), nullable=True),
    sa.Column('last_seq', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('queued_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('assigned_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('first_response_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('visitor_seen_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_by', sa.String(length=20), nullable=True),
    sa.Column('wait_seconds', sa.Integer(), nullable=True),
    sa.Column('first_response_seconds', sa.Integer(), nullable=True),
    sa.Column('duration_seconds', sa.Integer(), nullable=True),
    sa.Column('transfers', sa.Integer(), nullable=False),
    sa.Column('missed_count', sa.Integer(), nullable=False),
    sa.Column('missed', sa.Boolean(), nullable=False),
    sa.Column('abandoned', sa.Boolean(), nullable=False),
    sa.Column('bot_resolved', sa.Boolean(), nullable=False),
    sa.Column('rating', sa.Integer(), nullable=True),
    sa.Column('rating_comment', sa.Text(), nullable=True),
    sa.Column('transcript_emailed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['agent_id'], ['users.id'], name=op.f('fk_chat_sessions_agent_id_users')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_chat_sessions_case_id_cases')),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_chat_sessions_contact_id_contacts')),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_chat_sessions_group_id_groups')),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_chat_sessions_organization_id_organizations')),
    sa.ForeignKeyConstraint(['topic_id'], ['chat_topics.id'], name=op.f('fk_chat_sessions_topic_id_chat_topics')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_chat_sessions')),
    sa.UniqueConstraint('token', name=op.f('uq_chat_sessions_token'))
    )
    with op.batch_alter_table('chat_sessions', schema=None) as batch_op:
        batch_op.create_index('ix_chat_sessions_agent_status', ['agent_id', 'status'], unique=False)
        batch_op.create_index('ix_chat_sessions_contact_created', ['contact_id', 'created_at'], unique=False)
        batch_op.create_index('ix_chat_sessions_organization_created', ['organization_id', 'created_at'], unique=False)
        batch_op.create_index('ix_chat_sessions_status_group_queued', ['status', 'group_id', 'queued_at', 'id'], unique=False)

    op.create_table('deflection_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('attempt', sa.String(length=40), nullable=False),
    sa.Column('step', sa.Enum('suggestions_shown', 'article_opened', 'form_abandoned', 'case_created', name='funnelstep', native_enum=False, length=30), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('article_id', sa.Integer(), nullable=True),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('query', sa.String(length=300), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_deflection_events_case_id_cases'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_deflection_events_contact_id_contacts'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deflection_events'))
    )
    with op.batch_alter_table('deflection_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_deflection_events_attempt'), ['attempt'], unique=False)
        batch_op.create_index('ix_deflection_events_step_created', ['step', 'created_at'], unique=False)

    op.create_table('kb_article_cases',
    sa.Column('article_id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['article_id'], ['kb_articles.id'], name=op.f('fk_kb_article_cases_article_id_kb_articles'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_kb_article_cases_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_kb_article_cases_user_id_users')),
    sa.PrimaryKeyConstraint('article_id', 'case_id', name=op.f('pk_kb_article_cases'))
    )
    with op.batch_alter_table('kb_article_cases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_kb_article_cases_case_id'), ['case_id'], unique=False)

    op.create_table('portal_contact_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('language', sa.String(length=10), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_portal_contact_requests_case_id_cases'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_portal_contact_requests'))
    )
    with op.batch_alter_table('portal_contact_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_portal_contact_requests_email'), ['email'], unique=False)

    op.create_table('ratings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('score', sa.SmallInteger(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=True),
    sa.Column('group_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['users.id'], name=op.f('fk_ratings_agent_id_users')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_ratings_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_ratings_contact_id_contacts')),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_ratings_group_id_groups')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ratings')),
    sa.UniqueConstraint('case_id', name=op.f('uq_ratings_case_id'))
    )
    with op.batch_alter_table('ratings', schema=None) as batch_op:
        batch_op.create_index('ix_ratings_agent_created', ['agent_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_ratings_contact_id'), ['contact_id'], unique=False)
        batch_op.create_index('ix_ratings_created', ['created_at'], unique=False)
        batch_op.create_index('ix_ratings_group_created', ['group_id', 'created_at'], unique=False)

    op.create_table('time_logs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('minutes', sa.Integer(), nullable=False),
    sa.Column('billable', sa.Boolean(), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('stopped_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_time_logs_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_time_logs_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_time_logs'))
    )
    with op.batch_alter_table('time_logs', schema=None) as batch_op:
        batch_op.create_index('ix_time_logs_case_started', ['case_id', 'started_at'], unique=False)
        batch_op.create_index('ix_time_logs_started', ['started_at'], unique=False)
        batch_op.create_index('ix_time_logs_user_started', ['user_id', 'started_at'], unique=False)
        batch_op.create_index('uq_time_logs_running_user', ['user_id'], unique=True, sqlite_where=sa.text('stopped_at IS NULL'), postgresql_where=sa.text('stopped_at IS NULL'))

    op.create_table('chat_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('visitor', 'agent', 'bot', 'system', name='chatmessagekind', native_enum=False, length=10), nullable=False),
    sa.Column('author_user_id', sa.Integer(), nullable=True),
    sa.Column('author_name', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('links', sa.JSON(), nullable=True),
    sa.Column('blob_sha256', sa.String(length=64), nullable=True),
    sa.Column('filename', sa.String(length=255), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_user_id'], ['users.id'], name=op.f('fk_chat_messages_author_user_id_users')),
    sa.ForeignKeyConstraint(['blob_sha256'], ['blobs.sha256'], name=op.f('fk_chat_messages_blob_sha256_blobs')),
    sa.ForeignKeyConstraint(['session_id'], ['chat_sessions.id'], name=op.f('fk_chat_messages_session_id_chat_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_chat_messages')),
    sa.UniqueConstraint('session_id', 'seq', name=op.f('uq_chat_messages_session_id'))
    )
    with op.batch_alter_table('case_watchers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cc_on_replies', sa.Boolean(), nullable=False, server_default=sa.true()))

    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('product_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('asset_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('service_contract_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('sla_warn_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_cases_asset_id'), ['asset_id'], unique=False)
        batch_op.create_index('ix_cases_contact_created', ['contact_id', 'created_at', 'id'], unique=False)
        batch_op.create_index('ix_cases_organization_created', ['organization_id', 'created_at', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_cases_product_id'), ['product_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_cases_service_contract_id'), ['service_contract_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_cases_product_id_products'), 'products', ['product_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_cases_service_contract_id_service_contracts'), 'service_contracts', ['service_contract_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_cases_asset_id_assets'), 'assets', ['asset_id'], ['id'])

    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('role', sa.Enum('decision_maker', 'billing', 'technical', 'user', 'other', name='contactrole', native_enum=False, length=20), nullable=True))
        batch_op.add_column(sa.Column('job_title', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('notes', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('name_key', sa.String(length=200), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('phone_key', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('merged_into_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('portal_enabled', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('portal_role', sa.String(length=20), nullable=False, server_default='member'))
        batch_op.add_column(sa.Column('portal_password_hash', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('portal_session_token', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('portal_last_login_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('email_verified_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('language', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('notify_case_updates', sa.Boolean(), nullable=False, server_default=sa.true()))
        batch_op.create_index(batch_op.f('ix_contacts_merged_into_id'), ['merged_into_id'], unique=False)
        batch_op.create_index('ix_contacts_organization_name_key', ['organization_id', 'name_key'], unique=False)
        batch_op.create_index('ix_contacts_phone_key', ['phone_key'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_contacts_merged_into_id_contacts'), 'contacts', ['merged_into_id'], ['id'])

    with op.batch_alter_table('groups', schema=None) as batch_op:
        batch_op.add_column(sa.Column('business_hours_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_groups_business_hours_id_business_hours'), 'business_hours', ['business_hours_id'], ['id'], ondelete='SET NULL')

    with op.batch_alter_table('mailboxes', schema=None) as batch_op:
        batch_op.alter_column('imap_password',
               existing_type=sa.VARCHAR(length=200),
               type_=sa.String(length=500),
               existing_nullable=True)

    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('website', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('address', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('notes', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True))

    _fill_contact_keys()


def _fill_contact_keys():
    """Duplicate detection looks contacts up by normalized name and phone; compute them for the
    contacts that existed before this revision, with the same functions the model uses."""
    from helpdesk.people.models import name_key, phone_key

    conn = op.get_bind()
    contacts = sa.table("contacts", sa.column("id", sa.Integer), sa.column("name", sa.String),
                        sa.column("phone", sa.String), sa.column("name_key", sa.String), sa.column("phone_key", sa.String))
    rows = conn.execute(sa.select(contacts.c.id, contacts.c.name, contacts.c.phone)).all()
    if rows:
        conn.execute(contacts.update().where(contacts.c.id == sa.bindparam("b_id")),
                     [{"b_id": id_, "name_key": name_key(name), "phone_key": phone_key(phone)} for id_, name, phone in rows])


def downgrade():
    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.drop_column('deleted_at')
        batch_op.drop_column('updated_at')
        batch_op.drop_column('notes')
        batch_op.drop_column('address')
        batch_op.drop_column('website')

    with op.batch_alter_table('mailboxes', schema=None) as batch_op:
        batch_op.alter_column('imap_password',
               existing_type=sa.String(length=500),
               type_=sa.VARCHAR(length=200),
               existing_nullable=True)

    with op.batch_alter_table('groups', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_groups_business_hours_id_business_hours'), type_='foreignkey')
        batch_op.drop_column('business_hours_id')

    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_contacts_merged_into_id_contacts'), type_='foreignkey')
        batch_op.drop_index('ix_contacts_phone_key')
        batch_op.drop_index('ix_contacts_organization_name_key')
        batch_op.drop_index(batch_op.f('ix_contacts_merged_into_id'))
        batch_op.drop_column('notify_case_updates')
        batch_op.drop_column('language')
        batch_op.drop_column('email_verified_at')
        batch_op.drop_column('portal_last_login_at')
        batch_op.drop_column('portal_session_token')
        batch_op.drop_column('portal_password_hash')
        batch_op.drop_column('portal_role')
        batch_op.drop_column('portal_enabled')
        batch_op.drop_column('deleted_at')
        batch_op.drop_column('updated_at')
        batch_op.drop_column('merged_into_id')
        batch_op.drop_column('phone_key')
        batch_op.drop_column('name_key')
        batch_op.drop_column('notes')
        batch_op.drop_column('job_title')
        batch_op.drop_column('role')

    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_cases_asset_id_assets'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_cases_service_contract_id_service_contracts'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_cases_product_id_products'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_cases_service_contract_id'))
        batch_op.drop_index(batch_op.f('ix_cases_product_id'))
        batch_op.drop_index('ix_cases_organization_created')
        batch_op.drop_index('ix_cases_contact_created')
        batch_op.drop_index(batch_op.f('ix_cases_asset_id'))
        batch_op.drop_column('sla_warn_at')
        batch_op.drop_column('service_contract_id')
        batch_op.drop_column('asset_id')
        batch_op.drop_column('product_id')

    with op.batch_alter_table('case_watchers', schema=None) as batch_op:
        batch_op.drop_column('cc_on_replies')

    op.drop_table('chat_messages')
    with op.batch_alter_table('time_logs', schema=None) as batch_op:
        batch_op.drop_index('uq_time_logs_running_user', sqlite_where=sa.text('stopped_at IS NULL'), postgresql_where=sa.text('stopped_at IS NULL'))
        batch_op.drop_index('ix_time_logs_user_started')
        batch_op.drop_index('ix_time_logs_started')
        batch_op.drop_index('ix_time_logs_case_started')

    op.drop_table('time_logs')
    with op.batch_alter_table('ratings', schema=None) as batch_op:
        batch_op.drop_index('ix_ratings_group_created')
        batch_op.drop_index('ix_ratings_created')
        batch_op.drop_index(batch_op.f('ix_ratings_contact_id'))
        batch_op.drop_index('ix_ratings_agent_created')

    op.drop_table('ratings')
    with op.batch_alter_table('portal_contact_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_portal_contact_requests_email'))

    op.drop_table('portal_contact_requests')
    with op.batch_alter_table('kb_article_cases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_kb_article_cases_case_id'))

    op.drop_table('kb_article_cases')
    with op.batch_alter_table('deflection_events', schema=None) as batch_op:
        batch_op.drop_index('ix_deflection_events_step_created')
        batch_op.drop_index(batch_op.f('ix_deflection_events_attempt'))

    op.drop_table('deflection_events')
    with op.batch_alter_table('chat_sessions', schema=None) as batch_op:
        batch_op.drop_index('ix_chat_sessions_status_group_queued')
        batch_op.drop_index('ix_chat_sessions_organization_created')
        batch_op.drop_index('ix_chat_sessions_contact_created')
        batch_op.drop_index('ix_chat_sessions_agent_status')

    op.drop_table('chat_sessions')
    op.drop_table('contract_notices')
    with op.batch_alter_table('service_contracts', schema=None) as batch_op:
        batch_op.drop_index('ix_service_contracts_status_end')
        batch_op.drop_index(batch_op.f('ix_service_contracts_sla_policy_id'))
        batch_op.drop_index('ix_service_contracts_organization_status')
        batch_op.drop_index('ix_service_contracts_contact_status')

    op.drop_table('service_contracts')
    with op.batch_alter_table('recycle_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recycle_items_entry_id'))

    op.drop_table('recycle_items')
    with op.batch_alter_table('kb_related_articles', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_kb_related_articles_related_id'))

    op.drop_table('kb_related_articles')
    with op.batch_alter_table('kb_feedback', schema=None) as batch_op:
        batch_op.drop_index('ix_kb_feedback_article_created')

    op.drop_table('kb_feedback')
    op.drop_table('kb_article_versions')
    with op.batch_alter_table('kb_article_events', schema=None) as batch_op:
        batch_op.drop_index('ix_kb_article_events_article_created')

    op.drop_table('kb_article_events')
    with op.batch_alter_table('kb_article_attachments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_kb_article_attachments_article_id'))

    op.drop_table('kb_article_attachments')
    with op.batch_alter_table('customer_activities', schema=None) as batch_op:
        batch_op.drop_index('ix_customer_activities_organization_created')
        batch_op.drop_index('ix_customer_activities_contact_created')

    op.drop_table('customer_activities')
    op.drop_table('chat_topics')
    with op.batch_alter_table('assets', schema=None) as batch_op:
        batch_op.drop_index('ix_assets_warranty_end')
        batch_op.drop_index(batch_op.f('ix_assets_product_id'))
        batch_op.drop_index(batch_op.f('ix_assets_organization_id'))
        batch_op.drop_index(batch_op.f('ix_assets_contact_id'))

    op.drop_table('assets')
    with op.batch_alter_table('recycle_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_recycle_entries_kind_deleted')
        batch_op.drop_index(batch_op.f('ix_recycle_entries_deleted_at'))

    op.drop_table('recycle_entries')
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index('ix_notifications_user_read')
        batch_op.drop_index('ix_notifications_user_id')
        batch_op.drop_index('ix_notifications_target')

    op.drop_table('notifications')
    op.drop_table('notification_settings')
    with op.batch_alter_table('kb_faqs', schema=None) as batch_op:
        batch_op.drop_index('ix_kb_faqs_language_category_position')

    op.drop_table('kb_faqs')
    with op.batch_alter_table('kb_articles', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_kb_articles_translation_group_id'))
        batch_op.drop_index('ix_kb_articles_status_updated')
        batch_op.drop_index('ix_kb_articles_category_status')

    op.drop_table('kb_articles')
    with op.batch_alter_table('import_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_import_runs_user_id'))
        batch_op.drop_index(batch_op.f('ix_import_runs_blob_sha256'))

    op.drop_table('import_runs')
    with op.batch_alter_table('follows', schema=None) as batch_op:
        batch_op.drop_index('ix_follows_target')

    op.drop_table('follows')
    op.drop_table('chat_agents')
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_products_name'))

    op.drop_table('products')
    op.drop_table('kb_translation_groups')
    op.drop_table('kb_synonym_sets')
    with op.batch_alter_table('kb_search_log', schema=None) as batch_op:
        batch_op.drop_index('ix_kb_search_log_query')
        batch_op.drop_index('ix_kb_search_log_created')

    op.drop_table('kb_search_log')
    with op.batch_alter_table('kb_categories', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_kb_categories_parent_id'))

    op.drop_table('kb_categories')
    op.drop_table('chat_canned_replies')
