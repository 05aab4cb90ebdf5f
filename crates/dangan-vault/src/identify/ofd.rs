//! OFD (GB/T 33190) through the zip central directory: `OFD.xml` → `DocBody/DocRoot` →
//! `Document.xml` → `Pages/Page@BaseLoc`; `DocBody/Signatures` → `Signature` entries.

use std::collections::HashMap;
use std::io::{Cursor, Read};

use zip::ZipArchive;

use super::{Found, Limits, Readability, decode_text, xml};

type Archive<'a> = ZipArchive<Cursor<&'a [u8]>>;

/// The zip's members by normalised name (no leading `/`).
fn members(archive: &Archive<'_>) -> HashMap<String, usize> {
    let mut out = HashMap::new();
    for (i, name) in archive.file_names_raw().enumerate() {
        let name = String::from_utf8_lossy(name);
        out.insert(name.trim_start_matches('/').to_owned(), i);
    }
    out
}

/// Whether a complete zip names `OFD.xml` at its root (in its central directory, wherever the
/// member is); a zip whose directory does not read counts when its head names `OFD.xml`.
pub(super) fn has_ofd_xml(content: &[u8], _limits: &Limits) -> bool {
    match ZipArchive::new(Cursor::new(content)) {
        Ok(archive) => members(&archive).contains_key("OFD.xml"),
        Err(_) => super::find(content, b"OFD.xml").is_some(),
    }
}

/// Resolves an OFD path: absolute from the package root, or relative to `dir`.
fn resolve(dir: &str, path: &str) -> Result<String, String> {
    let path = path.trim().replace('\\', "/");
    let mut parts: Vec<&str> = Vec::new();
    if !path.starts_with('/') {
        parts.extend(dir.split('/').filter(|s| !s.is_empty()));
    }
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err(format!("OFD 路径越出包根目录：{path}"));
                }
            }
            s => parts.push(s),
        }
    }
    if parts.is_empty() {
        return Err("OFD 路径为空".to_owned());
    }
    Ok(parts.join("/"))
}

fn dir_of(path: &str) -> &str {
    path.rfind('/').map_or("", |i| &path[..i])
}

/// Reads and parses one member as XML, within the inflation bound.
fn read_xml(
    archive: &mut Archive<'_>,
    names: &HashMap<String, usize>,
    path: &str,
    limits: &Limits,
) -> Result<Vec<xml::Element>, String> {
    let &i = names
        .get(path)
        .ok_or_else(|| format!("OFD 包中缺少文件 {path}"))?;
    let mut file = archive
        .by_index(i)
        .map_err(|e| format!("OFD 包中的 {path} 无法读取：{e}"))?;
    if file.size() > limits.max_inflate {
        return Err(format!(
            "OFD 包中的 {path} 解压后超过上限（拒绝可能的解压炸弹）"
        ));
    }
    let mut bytes = Vec::new();
    (&mut file)
        .take(limits.max_inflate.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| format!("OFD 包中的 {path} 解压失败：{e}"))?;
    if bytes.len() as u64 > limits.max_inflate {
        return Err(format!(
            "OFD 包中的 {path} 解压后超过上限（拒绝可能的解压炸弹）"
        ));
    }
    let text = decode_text(&bytes).ok_or_else(|| format!("OFD 包中的 {path} 编码无法识别"))?;
    xml::parse(&text).map_err(|e| format!("OFD 包中的 {path}：{e}"))
}

/// Pages and signatures, or why the package does not read.
fn walk(content: &[u8], limits: &Limits) -> Result<(u32, u32), String> {
    let mut archive = ZipArchive::new(Cursor::new(content))
        .map_err(|e| format!("OFD 容器（zip）无法打开：{e}"))?;
    let names = members(&archive);
    let entry = read_xml(&mut archive, &names, "OFD.xml", limits)?;
    // Each DocBody with its DocRoot and Signatures, in order.
    let mut bodies: Vec<(Option<String>, Option<String>)> = Vec::new();
    for e in &entry {
        let n = e.path.len();
        if e.name() == "DocBody" {
            bodies.push((None, None));
        } else if n >= 2
            && e.path[n - 2] == "DocBody"
            && let Some(body) = bodies.last_mut()
        {
            match e.name() {
                "DocRoot" => body.0 = Some(e.text.clone()),
                "Signatures" => body.1 = Some(e.text.clone()),
                _ => {}
            }
        }
    }
    if bodies.is_empty() {
        return Err("OFD.xml 中没有 DocBody".to_owned());
    }
    let (mut pages, mut signatures) = (0u32, 0u32);
    for (root, signs) in bodies {
        let root = root
            .filter(|r| !r.is_empty())
            .ok_or("OFD.xml 的 DocBody 缺少 DocRoot")?;
        let doc_path = resolve("", &root)?;
        let doc = read_xml(&mut archive, &names, &doc_path, limits)?;
        let doc_dir = dir_of(&doc_path).to_owned();
        for e in &doc {
            let n = e.path.len();
            if e.name() == "Page" && n >= 2 && e.path[n - 2] == "Pages" {
                let loc = e
                    .attr("BaseLoc")
                    .ok_or_else(|| format!("{doc_path} 中的页面缺少 BaseLoc"))?;
                let page = resolve(&doc_dir, loc)?;
                read_xml(&mut archive, &names, &page, limits)?;
                pages = pages.saturating_add(1);
            }
        }
        if let Some(signs) = signs.filter(|s| !s.is_empty()) {
            let path = resolve("", &signs)?;
            let list = read_xml(&mut archive, &names, &path, limits)?;
            let n = list.iter().filter(|e| e.name() == "Signature").count();
            signatures = signatures.saturating_add(u32::try_from(n).unwrap_or(u32::MAX));
        }
    }
    if pages == 0 {
        return Err("OFD 文档没有页面".to_owned());
    }
    Ok((pages, signatures))
}

/// Full identification of an OFD package.
pub(super) fn identify(content: &[u8], limits: &Limits) -> Found {
    match walk(content, limits) {
        Ok((pages, signatures)) => Found {
            pages: Some(pages),
            signatures: Some(signatures),
            ..Found::new(Readability::Readable(format!(
                "OFD 结构完整，{pages} 页均可解析"
            )))
        },
        Err(why) => Found::new(Readability::Unreadable(why)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_resolve_absolute_and_relative() {
        assert_eq!(
            resolve("", "/Doc_0/Document.xml").unwrap(),
            "Doc_0/Document.xml"
        );
        assert_eq!(
            resolve("Doc_0", "Pages/Page_0/Content.xml").unwrap(),
            "Doc_0/Pages/Page_0/Content.xml"
        );
        assert_eq!(resolve("Doc_0", "../x.xml").unwrap(), "x.xml");
        assert!(resolve("", "../x.xml").is_err());
    }
}
