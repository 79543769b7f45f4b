-- OVCF registry, schema version 3: a user can be disabled (a member of staff who left). The row
-- stays (audit events name the user); a disabled user cannot sign in and their API tokens stop
-- resolving. Disabling is audited as a `service_event` (`user_disabled`).
ALTER TABLE accounts_users ADD COLUMN disabled_at TEXT;
