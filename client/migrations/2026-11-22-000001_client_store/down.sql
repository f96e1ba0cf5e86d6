DROP TABLE rejected;
DROP TABLE outbox;
DROP TABLE fields;
DROP TABLE sync_state;
DROP TABLE credentials;
DROP TABLE device;
