//! A flat, bounded view of an XML document: every element with its ancestors' local names, its
//! attributes and its own text. Namespace prefixes are dropped (OFD writes `ofd:`, XMP `pdfaid:`
//! or another prefix bound to the same namespace).

use quick_xml::XmlVersion;
use quick_xml::events::Event;

/// At most this many elements are kept (an XMP packet or an OFD file has far fewer).
const MAX_ELEMENTS: usize = 200_000;

/// One element.
pub(super) struct Element {
    /// Local names from the root down to this element.
    pub path: Vec<String>,
    /// The element's qualified name (with its prefix).
    pub qname: String,
    /// Attributes by qualified name.
    pub attrs: Vec<(String, String)>,
    /// The element's own text (not its children's), trimmed.
    pub text: String,
}

impl Element {
    /// The element's local name.
    pub fn name(&self) -> &str {
        self.path.last().map_or("", String::as_str)
    }

    /// The value of an attribute by local name.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k.rsplit(':').next() == Some(name))
            .map(|(_, v)| v.as_str())
    }
}

fn local(name: &[u8]) -> String {
    let local = name.rsplit(|&c| c == b':').next().unwrap_or(name);
    String::from_utf8_lossy(local).into_owned()
}

/// Parses a well-formed document; `Err` with the reason (in Chinese) otherwise.
pub(super) fn parse(text: &str) -> Result<Vec<Element>, String> {
    let mut reader = quick_xml::Reader::from_str(text);
    let mut out: Vec<Element> = Vec::new();
    let mut stack: Vec<usize> = Vec::new();
    let bad = |e: &dyn std::fmt::Display| format!("XML 格式错误：{e}");
    loop {
        let event = reader.read_event().map_err(|e| bad(&e))?;
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                if out.len() >= MAX_ELEMENTS {
                    return Err("XML 元素过多".to_owned());
                }
                let mut path = stack
                    .last()
                    .map(|&i| out[i].path.clone())
                    .unwrap_or_default();
                path.push(local(e.name().as_ref()));
                let mut attrs = Vec::new();
                for a in e.attributes() {
                    let a = a.map_err(|e| bad(&e))?;
                    let v = a
                        .normalized_value(XmlVersion::Implicit1_0)
                        .map_err(|e| bad(&e))?;
                    let key = String::from_utf8_lossy(a.key.as_ref()).into_owned();
                    attrs.push((key, v.into_owned()));
                }
                out.push(Element {
                    path,
                    qname: String::from_utf8_lossy(e.name().as_ref()).into_owned(),
                    attrs,
                    text: String::new(),
                });
                if matches!(event, Event::Start(_)) {
                    stack.push(out.len() - 1);
                }
            }
            Event::End(_) => {
                if let Some(i) = stack.pop() {
                    let trimmed = out[i].text.trim().to_owned();
                    out[i].text = trimmed;
                }
            }
            Event::Text(t) => {
                if let Some(&i) = stack.last() {
                    out[i].text.push_str(&t.decode().map_err(|e| bad(&e))?);
                }
            }
            Event::CData(t) => {
                if let Some(&i) = stack.last() {
                    out[i].text.push_str(&t.decode().map_err(|e| bad(&e))?);
                }
            }
            Event::GeneralRef(r) => {
                if let Some(&i) = stack.last() {
                    let c = if r.is_char_ref() {
                        r.resolve_char_ref().map_err(|e| bad(&e))?
                    } else {
                        match &*r as &[u8] {
                            b"amp" => Some('&'),
                            b"lt" => Some('<'),
                            b"gt" => Some('>'),
                            b"quot" => Some('"'),
                            b"apos" => Some('\''),
                            _ => None,
                        }
                    };
                    if let Some(c) = c {
                        out[i].text.push(c);
                    }
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !stack.is_empty() {
        return Err("XML 不完整（元素未闭合）".to_owned());
    }
    if out.is_empty() {
        return Err("XML 没有元素".to_owned());
    }
    Ok(out)
}
