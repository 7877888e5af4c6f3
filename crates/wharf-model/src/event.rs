//! Docker's events (`docker events`, the Engine API's `/events`): what
//! happened to which object, with Docker's types, actions and attributes,
//! its JSON message (moby's `api/types/events.Message`, legacy fields
//! included) and its filter rules (moby's `daemon/events/filter.go`).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde_json::{json, Value};

use crate::filters::Filters;
use crate::{ContainerRecord, ModelError};

/// The kinds of object wharf reports on (Docker's `Type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    Container,
    Image,
    Network,
    Volume,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Container => "container",
            EventType::Image => "image",
            EventType::Network => "network",
            EventType::Volume => "volume",
        }
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EventType {
    type Err = ModelError;

    fn from_str(s: &str) -> Result<EventType, ModelError> {
        [
            EventType::Container,
            EventType::Image,
            EventType::Network,
            EventType::Volume,
        ]
        .into_iter()
        .find(|t| t.as_str() == s)
        .ok_or_else(|| ModelError::Invalid(format!("invalid event type: {s}")))
    }
}

/// One event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub typ: EventType,
    /// `create`, `die`, `health_status: healthy`, `exec_create: sh -c x` ...
    pub action: String,
    /// The object: a container's or network's ID, an image's ID or
    /// reference, a volume's name.
    pub actor_id: String,
    /// Sorted, as Docker prints them.
    pub attributes: BTreeMap<String, String>,
    /// Nanoseconds since the Unix epoch.
    pub time_nano: i64,
}

/// Now, in nanoseconds since the Unix epoch.
pub fn now_nano() -> i64 {
    chrono::Utc::now().timestamp_nanos_opt().unwrap_or(i64::MAX)
}

impl Event {
    /// An event happening now.
    pub fn new(typ: EventType, action: impl Into<String>, actor_id: impl Into<String>) -> Event {
        Event {
            typ,
            action: action.into(),
            actor_id: actor_id.into(),
            attributes: BTreeMap::new(),
            time_nano: now_nano(),
        }
    }

    /// With one more attribute.
    pub fn with(mut self, key: impl Into<String>, value: impl Into<String>) -> Event {
        self.attributes.insert(key.into(), value.into());
        self
    }

    /// A container's event: its labels, `image` (what the user asked
    /// for) and `name`, as Docker's daemon attributes them.
    pub fn container(c: &ContainerRecord, action: impl Into<String>) -> Event {
        Event::for_container(
            &c.id,
            &c.name,
            c.definition.image_ref(),
            c.definition.labels(),
            action,
        )
    }

    /// [`Event::container`] from the parts.
    pub fn for_container<'a>(
        id: &str,
        name: &str,
        image: &str,
        labels: impl IntoIterator<Item = (&'a String, &'a String)>,
        action: impl Into<String>,
    ) -> Event {
        let mut e = Event::new(EventType::Container, action, id);
        for (k, v) in labels {
            e.attributes.insert(k.clone(), v.clone());
        }
        e.with("image", image).with("name", name)
    }

    pub fn time_secs(&self) -> i64 {
        self.time_nano.div_euclid(1_000_000_000)
    }

    /// Docker's JSON message, field for field and in its order: the
    /// legacy `status`/`id`/`from` for containers (`status`/`id` for
    /// images), then `Type`, `Action`, `Actor`, `scope`, `time`, `timeNano`.
    pub fn message(&self) -> Value {
        let mut m = serde_json::Map::new();
        match self.typ {
            EventType::Container => {
                m.insert("status".into(), self.action.clone().into());
                m.insert("id".into(), self.actor_id.clone().into());
                let from = self.attributes.get("image").cloned().unwrap_or_default();
                if !from.is_empty() {
                    m.insert("from".into(), from.into());
                }
            }
            EventType::Image => {
                m.insert("status".into(), self.action.clone().into());
                m.insert("id".into(), self.actor_id.clone().into());
            }
            _ => {}
        }
        m.insert("Type".into(), self.typ.as_str().into());
        m.insert("Action".into(), self.action.clone().into());
        m.insert(
            "Actor".into(),
            json!({"ID": self.actor_id, "Attributes": self.attributes}),
        );
        m.insert("scope".into(), "local".into());
        m.insert("time".into(), self.time_secs().into());
        m.insert("timeNano".into(), self.time_nano.into());
        Value::Object(m)
    }

    /// Whether `filters` (`docker events --filter`) let this event
    /// through: Docker's rules (moby `daemon/events/filter.go`).
    pub fn matches(&self, f: &Filters) -> bool {
        let name = self
            .attributes
            .get("name")
            .map(String::as_str)
            .unwrap_or("");
        // An object filter names the object by ID or name, by prefix; it
        // also applies to events of other types, which then never match.
        let object = |key: &str| f.fuzzy_match(key, &self.actor_id) || f.fuzzy_match(key, name);
        // `health_status`, `exec_create` and `exec_start` carry a suffix
        // (`health_status: healthy`): given bare, they match by prefix.
        let fuzzy_actions = ["health_status", "exec_create", "exec_start"];
        let event = if f
            .get("event")
            .iter()
            .any(|v| fuzzy_actions.contains(&v.as_str()))
        {
            f.fuzzy_match("event", &self.action)
        } else {
            f.exact_match("event", &self.action)
        };
        event
            && f.exact_match("type", self.typ.as_str())
            && f.exact_match("scope", "local")
            && object("container")
            && object("volume")
            && object("network")
            && self.matches_image(f)
            && f.match_kv_list("label", &self.attributes)
    }

    /// `image=`: an image event's ID or name, a container event's image,
    /// each also without its tag.
    fn matches_image(&self, f: &Filters) -> bool {
        if !f.contains("image") {
            return true;
        }
        let attr = if self.typ == EventType::Image {
            "name"
        } else {
            "image"
        };
        let name = self.attributes.get(attr).map(String::as_str).unwrap_or("");
        [self.actor_id.as_str(), name]
            .into_iter()
            .any(|s| f.exact_match("image", s) || f.exact_match("image", &strip_tag(s)))
    }
}

/// Docker's `stripTag`: the familiar repository of a reference, or the
/// string itself when it is none.
fn strip_tag(s: &str) -> String {
    match wharf_oci::Reference::parse(s) {
        Ok(r) => r.familiar_repository(),
        Err(_) => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn die() -> Event {
        Event {
            typ: EventType::Container,
            action: "die".into(),
            actor_id: "3a6e02".into(),
            attributes: [
                ("a".to_string(), "b".to_string()),
                ("exitCode".into(), "137".into()),
                ("image".into(), "he-bb".into()),
                ("name".into(), "he3".into()),
            ]
            .into(),
            time_nano: 1_796_541_539_113_733_830,
        }
    }

    #[test]
    fn message_is_dockers() {
        assert_eq!(
            serde_json::to_string(&die().message()).unwrap(),
            r#"{"status":"die","id":"3a6e02","from":"he-bb","Type":"container","Action":"die","Actor":{"ID":"3a6e02","Attributes":{"a":"b","exitCode":"137","image":"he-bb","name":"he3"}},"scope":"local","time":1796541539,"timeNano":1796541539113733830}"#
        );
        let net = Event::new(EventType::Network, "create", "244e").with("name", "n");
        let m = net.message();
        assert!(m.get("status").is_none() && m.get("from").is_none());
        assert_eq!(m["Actor"]["Attributes"]["name"], "n");
    }

    #[test]
    fn filters_follow_docker() {
        let e = die();
        let f = |a: &[&str]| e.matches(&Filters::parse(a).unwrap());
        assert!(f(&[]));
        assert!(f(&["container=he3"]) && f(&["container=3a6"]) && f(&["container=he"]));
        assert!(!f(&["container=other"]));
        assert!(f(&["image=he-bb"]) && !f(&["image=he-bb:latest"]));
        assert!(f(&["event=die", "event=start"]) && !f(&["event=start"]));
        assert!(f(&["type=container"]) && !f(&["type=image"]));
        assert!(f(&["label=a"]) && f(&["label=a=b"]) && !f(&["label=a=c"]));
        assert!(!f(&["network=n1"]));
        let h = Event::new(EventType::Container, "health_status: healthy", "x");
        assert!(h.matches(&Filters::parse(&["event=health_status"]).unwrap()));
        assert!(!h.matches(&Filters::parse(&["event=health"]).unwrap()));
    }
}
