//! One integration-test crate: every test starts the app in-process (port 0, temp data dir).

mod helpers;
mod imap_server;
mod live;

mod access;
mod access_model;
mod attachments;
mod auth;
mod automations;
mod backup_and_restart;
mod binary;
mod conversations;
mod email;
mod errors;
mod fuzz;
mod imap;
mod inbound_smtp;
mod inbound_smtp_limits;
mod items_and_projects;
mod leak_canary;
mod login_limits;
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
mod tokens;
mod upgrade;
mod widget;
