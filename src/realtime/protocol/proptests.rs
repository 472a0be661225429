//! Property tests of the client-frame parser: whatever text a socket sends, parsing it never
//! panics; it either yields a frame that says exactly what the text said, or a serde_json error
//! of the syntax or data kind (which closes the socket with `INVALID_FRAME`). More cases with
//! `PROPTEST_CASES=...`.

use super::*;
use proptest::prelude::*;
use serde_json::{json, Map, Value};

const TYPES: &[&str] = &["subscribe", "unsubscribe", "send", "typing", "seen", "presence", "watch_inbox", "ping"];
const FIELDS: &[&str] =
    &["type", "conversation_id", "after_seq", "client_id", "body", "attachment_ids", "seq", "status"];

/// What the socket does with a text frame.
fn parse(text: &str) -> Result<ClientFrame, serde_json::Error> {
    serde_json::from_str(text)
}

/// A parse error is one the socket can name: bad syntax, a truncated frame, or a value of
/// the wrong shape; never an I/O error.
fn typed(e: &serde_json::Error) -> bool {
    !matches!(e.classify(), serde_json::error::Category::Io)
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f).map(Value::Number)),
        prop::sample::select(vec![i64::MIN, -1, 0, 1, 7, i64::MAX,]).prop_map(Value::from),
        Just(json!(u64::MAX)),
        Just(json!(1e300)),
        Just(json!(-0.0)),
        prop::sample::select(TYPES.to_vec()).prop_map(Value::from),
        prop::sample::select(vec!["online", "away", "offline", "ONLINE", ""]).prop_map(Value::from),
        ".{0,40}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(".{0,12}", inner, 0..6).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Objects that look like frames: mostly a known `type` and known field names, with values
/// of any type.
fn frame_like() -> impl Strategy<Value = Value> {
    let kind = prop_oneof![4 => prop::sample::select(TYPES.to_vec()).prop_map(Value::from), 1 => json_value()];
    let name = prop_oneof![4 => prop::sample::select(FIELDS.to_vec()).prop_map(str::to_owned), 1 => "[a-z_]{0,12}"];
    let fields = prop::collection::btree_map(name, json_value(), 0..6);
    (kind, any::<bool>(), fields).prop_map(|(kind, typed, fields)| {
        let mut frame = Map::new();
        if typed {
            frame.insert("type".into(), kind);
        }
        frame.extend(fields.into_iter().filter(|(k, _)| !(typed && k == "type")));
        Value::Object(frame)
    })
}

/// Frames a well-behaved client may send.
fn valid_frame() -> impl Strategy<Value = Value> {
    let id = any::<i64>();
    prop_oneof![
        (id, proptest::option::of(any::<i64>())).prop_map(|(c, after)| match after {
            Some(a) => json!({"type": "subscribe", "conversation_id": c, "after_seq": a}),
            None => json!({"type": "subscribe", "conversation_id": c}),
        }),
        id.prop_map(|c| json!({"type": "unsubscribe", "conversation_id": c})),
        (id, ".{0,20}", ".{0,200}", prop::collection::vec(any::<i64>(), 0..4)).prop_map(|(c, client, body, files)| {
            json!({"type": "send", "conversation_id": c, "client_id": client, "body": body, "attachment_ids": files})
        }),
        id.prop_map(|c| json!({"type": "typing", "conversation_id": c})),
        (id, any::<i64>()).prop_map(|(c, s)| json!({"type": "seen", "conversation_id": c, "seq": s})),
        prop::sample::select(vec!["online", "away", "offline"]).prop_map(|s| json!({"type": "presence", "status": s})),
        Just(json!({"type": "watch_inbox"})),
        Just(json!({"type": "ping"})),
    ]
}

/// The frame says what the JSON said, field for field.
fn agrees(frame: &ClientFrame, value: &Value) {
    let int = |name: &str| value[name].as_i64();
    let kind = value["type"].as_str().expect("a parsed frame had a string type");
    match frame {
        ClientFrame::Subscribe { conversation_id, after_seq } => {
            assert_eq!(kind, "subscribe");
            assert_eq!(Some(*conversation_id), int("conversation_id"));
            assert_eq!(*after_seq, int("after_seq").unwrap_or(0));
        }
        ClientFrame::Unsubscribe { conversation_id } => {
            assert_eq!(kind, "unsubscribe");
            assert_eq!(Some(*conversation_id), int("conversation_id"));
        }
        ClientFrame::Send { conversation_id, client_id, body, attachment_ids } => {
            assert_eq!(kind, "send");
            assert_eq!(Some(*conversation_id), int("conversation_id"));
            assert_eq!(Some(client_id.as_str()), value["client_id"].as_str());
            assert_eq!(body.as_str(), value["body"].as_str().unwrap_or(""));
            let given: Vec<i64> = value["attachment_ids"]
                .as_array()
                .map(|a| a.iter().map(|v| v.as_i64().expect("an i64 id")).collect())
                .unwrap_or_default();
            assert_eq!(attachment_ids, &given);
        }
        ClientFrame::Typing { conversation_id } => {
            assert_eq!(kind, "typing");
            assert_eq!(Some(*conversation_id), int("conversation_id"));
        }
        ClientFrame::Seen { conversation_id, seq } => {
            assert_eq!(kind, "seen");
            assert_eq!(Some(*conversation_id), int("conversation_id"));
            assert_eq!(Some(*seq), int("seq"));
        }
        ClientFrame::Presence { status } => {
            assert_eq!(kind, "presence");
            assert_eq!(Some(serde_json::to_value(status).unwrap()), value.get("status").cloned());
        }
        ClientFrame::WatchInbox {} => assert_eq!(kind, "watch_inbox"),
        ClientFrame::Ping {} => assert_eq!(kind, "ping"),
    }
}

proptest! {
    #![proptest_config(crate::proptest_config())]

    #[test]
    fn any_text_parses_or_fails_with_a_typed_error(text in ".{0,300}") {
        if let Err(e) = parse(&text) {
            prop_assert!(typed(&e), "{e}");
        }
    }

    #[test]
    fn frame_shaped_json_parses_to_what_it_says_or_fails_with_a_typed_error(value in frame_like()) {
        match parse(&value.to_string()) {
            Ok(frame) => agrees(&frame, &value),
            Err(e) => prop_assert!(typed(&e), "{e}"),
        }
    }

    #[test]
    fn valid_frames_parse_to_what_they_say(value in valid_frame()) {
        let frame = parse(&value.to_string());
        prop_assert!(frame.is_ok(), "{value}: {frame:?}");
        agrees(&frame.unwrap(), &value);
    }

    #[test]
    fn mangled_valid_frames_never_panic(
        value in valid_frame(),
        cuts in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0..3u8), 1..6),
    ) {
        let mut bytes = value.to_string().into_bytes();
        for (at, byte, how) in cuts {
            let i = at.index(bytes.len() + 1);
            match how {
                0 => bytes.insert(i, byte),
                1 if i < bytes.len() => { bytes.remove(i); }
                _ => bytes.truncate(i),
            }
        }
        let text = String::from_utf8_lossy(&bytes);
        match parse(&text) {
            Ok(frame) => agrees(&frame, &serde_json::from_str(&text).unwrap()),
            Err(e) => prop_assert!(typed(&e), "{e}"),
        }
    }
}

/// Nesting as deep as a frame under the size limit allows is refused, not a stack overflow.
#[test]
fn deeply_nested_frames_are_refused() {
    let depth = MAX_FRAME_BYTES / 2;
    for (open, close) in [("[", "]"), ("{\"a\":", "}")] {
        let text = format!(
            "{{\"type\":\"send\",\"conversation_id\":1,\"client_id\":\"a\",\"body\":{}1{}}}",
            open.repeat(depth),
            close.repeat(depth)
        );
        let e = parse(&text).expect_err("not a frame");
        assert!(typed(&e), "{e}");
    }
}
