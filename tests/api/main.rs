//! One integration-test crate: every test starts the app in-process (port 0, temp data dir).

mod helpers;
mod imap_server;

mod attachments;
mod auth;
mod automations;
mod backup_and_restart;
mod binary;
mod conversations;
mod customer_data;
mod customer_writes;
mod email;
mod errors;
mod fuzz;
mod imap;
mod inbound_smtp;
mod items_and_projects;
mod leak_canary;
mod notifications;
mod observability;
mod openapi;
mod portal_and_forms;
mod privacy;
mod realtime;
mod release;
mod reliability;
mod reply_by_email;
mod search_and_counts;
mod smtp;
mod upgrade;
mod widget;
