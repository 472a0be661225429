//! The team's settings and secrets, its web forms, and the figures of the health page.

use crate::automation::hours::BusinessHours;
use crate::domain::Secret;
use crate::store::forms::{self, Form, FormInput, Submission};
use crate::store::settings::{self, EmailFlow, PortalSettings, WidgetSettings};
use crate::store::stats::{self, FirstRun, Queues};
use crate::store::{projects, Millis, Result, Store, Viewer};

#[derive(Clone, Copy)]
pub struct Settings<'s>(pub(super) &'s Store);

impl Settings<'_> {
    /// The widget's settings as visitors may see them (no identity secret).
    pub async fn widget(self) -> Result<WidgetSettings> {
        self.0.read(settings::widget).await
    }

    /// The widget's settings with the identity secret, made on first use.
    pub async fn widget_with_secret(self) -> Result<WidgetSettings> {
        self.0.write(|c| settings::widget_with_secret(c)).await
    }

    pub async fn set_widget(self, value: WidgetSettings) -> Result<()> {
        self.0.write(move |c| settings::set_widget(c, &value)).await
    }

    /// Replaces the identity secret the team's site signs with: identities signed with the
    /// old one stop working.
    pub async fn rotate_identity_secret(self, secret: String) -> Result<WidgetSettings> {
        self.0
            .write(move |c| {
                let mut s = settings::widget(c)?;
                s.identity_secret = secret;
                settings::set_widget(c, &s)?;
                Ok(s)
            })
            .await
    }

    pub async fn portal(self) -> Result<PortalSettings> {
        self.0.read(settings::portal).await
    }

    /// Saves the portal's settings; the project its tickets go to must exist.
    pub async fn set_portal(self, value: PortalSettings) -> Result<()> {
        self.0
            .write(move |c| {
                if let Some(project) = value.project_id {
                    projects::get(c, Viewer::SYSTEM, project)?;
                }
                settings::set_portal(c, &value)
            })
            .await
    }

    pub async fn email_flow(self) -> Result<EmailFlow> {
        self.0.read(settings::email_flow).await
    }

    /// Saves how email flows; the project new mail goes to must be one the admin can see.
    pub async fn set_email_flow(self, viewer: Viewer, flow: EmailFlow) -> Result<EmailFlow> {
        self.0
            .write(move |c| {
                if let Some(project) = flow.inbound_project_id {
                    projects::get(c, viewer, project)?;
                }
                settings::set_email_flow(c, &flow)?;
                Ok(flow)
            })
            .await
    }

    /// The key reply tokens are signed with, made on first use.
    pub async fn reply_secret(self) -> Result<String> {
        self.0.write(|c| settings::reply_secret(c)).await
    }

    /// A new reply key: the reply addresses of every email sent so far stop working.
    pub async fn rotate_reply_secret(self) -> Result<()> {
        self.0.write(|c| settings::rotate_reply_secret(c).map(drop)).await
    }

    /// The key of the known-device cookies, made on first use.
    pub async fn device_secret(self) -> Result<Secret> {
        self.0.write(|c| settings::device_secret(c)).await
    }

    pub async fn business_hours(self) -> Result<BusinessHours> {
        self.0.read(settings::business_hours).await
    }

    pub async fn set_business_hours(self, hours: BusinessHours) -> Result<()> {
        self.0.write(move |c| settings::set_business_hours(c, &hours)).await
    }

    pub async fn forms(self) -> Result<Vec<Form>> {
        self.0.read(forms::list).await
    }

    pub async fn form(self, id: i64) -> Result<Form> {
        self.0.read(move |c| forms::get(c, id)).await
    }

    /// Saves a form: a new one under `key` when `id` is `None`.
    pub async fn save_form(self, id: Option<i64>, key: String, input: FormInput, now: Millis) -> Result<Form> {
        self.0.write(move |c| forms::save(c, id, &key, &input, now)).await
    }

    pub async fn delete_form(self, id: i64) -> Result<()> {
        self.0.write(move |c| forms::delete(c, id)).await
    }

    /// A published form as a visitor's page shows it: the form, the widget's look and the key
    /// that signs when the form was shown.
    pub async fn public_form(self, key: String) -> Result<(Form, WidgetSettings, String)> {
        self.0.read(move |c| Ok((forms::by_key(c, &key)?, settings::widget(c)?, settings::form_secret(c)?))).await
    }

    /// The key that signs when a form was shown, once the form is known to exist.
    pub async fn form_secret(self, key: String) -> Result<String> {
        self.0
            .read(move |c| {
                forms::by_key(c, &key)?;
                settings::form_secret(c)
            })
            .await
    }

    /// Files a form's submission as a ticket; answers the form's thank-you text.
    pub async fn submit_form(self, key: String, submission: Submission, email: String, now: Millis) -> Result<String> {
        self.0
            .write(move |c| {
                forms::submit(c, &key, &submission, &email, now)?;
                Ok(forms::by_key(c, &key)?.thank_you)
            })
            .await
    }

    /// The queues the health page and `/metrics` report.
    pub async fn queues(self) -> Result<Queues> {
        self.0.read(stats::queues).await
    }

    /// What the first-run checklist needs to know.
    pub async fn first_run(self) -> Result<FirstRun> {
        self.0.read(stats::first_run).await
    }
}
