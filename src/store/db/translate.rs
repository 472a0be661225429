//! The store's SQL in PostgreSQL's dialect.

/// The store's SQL in PostgreSQL's dialect: `?N` and `?` become `$N`, `LIKE` becomes `ILIKE`
/// (SQLite's LIKE ignores case), and a list passed as a JSON array (`json_each(?N)`) is read
/// by `json_array_elements_text`. Quoted text is left alone.
pub fn translate(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut chars = sql.char_indices().peekable();
    let mut next_anonymous = 0;
    while let Some((i, c)) = chars.next() {
        match c {
            '\'' | '"' => {
                out.push(c);
                for (_, q) in chars.by_ref() {
                    out.push(q);
                    if q == c {
                        break;
                    }
                }
            }
            '?' => {
                let mut digits = String::new();
                while let Some(&(_, d)) = chars.peek().filter(|(_, d)| d.is_ascii_digit()) {
                    digits.push(d);
                    chars.next();
                }
                if digits.is_empty() {
                    next_anonymous += 1;
                    digits = next_anonymous.to_string();
                }
                out.push('$');
                out.push_str(&digits);
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let start = i;
                let mut end = i + c.len_utf8();
                while let Some(&(j, d)) = chars.peek().filter(|(_, d)| d.is_ascii_alphanumeric() || *d == '_') {
                    end = j + d.len_utf8();
                    chars.next();
                }
                let word = &sql[start..end];
                if word.eq_ignore_ascii_case("LIKE") {
                    out.push_str("ILIKE");
                } else if word.eq_ignore_ascii_case("CROSS") {
                    // SQLite's CROSS JOIN keeps the order of the tables; PostgreSQL's takes no ON.
                    while chars.next_if(|(_, d)| d.is_whitespace()).is_some() {}
                } else if word.eq_ignore_ascii_case("COLLATE") || word.eq_ignore_ascii_case("INDEXED") {
                    // `COLLATE NOCASE` (the columns are citext) and `INDEXED BY name`: dropped.
                    let words = if word.eq_ignore_ascii_case("COLLATE") { 1 } else { 2 };
                    for _ in 0..words {
                        while chars.next_if(|(_, d)| d.is_whitespace()).is_some() {}
                        while chars.next_if(|(_, d)| d.is_ascii_alphanumeric() || *d == '_').is_some() {}
                    }
                } else if word.eq_ignore_ascii_case("json_each") {
                    // json_each(?N) -> json_array_elements_text($N::json) AS json_each(value)
                    let rest: String = chars.by_ref().take_while(|&(_, d)| d != ')').map(|(_, d)| d).collect();
                    let argument = translate(rest.trim_start_matches('('));
                    out.push_str(&format!("json_array_elements_text({argument}::json) AS json_each(value)"));
                } else {
                    out.push_str(word);
                }
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::translate;

    #[test]
    fn sql_is_translated_to_postgres_outside_quoted_text() {
        assert_eq!(translate("SELECT a FROM t WHERE b = ?1 AND c LIKE ?2 || '%?'"), {
            "SELECT a FROM t WHERE b = $1 AND c ILIKE $2 || '%?'"
        });
        assert_eq!(translate("UPDATE t SET a = ? WHERE b = ?"), "UPDATE t SET a = $1 WHERE b = $2");
        assert_eq!(
            translate("DELETE FROM t WHERE id IN (SELECT CAST(value AS BIGINT) FROM json_each(?3))"),
            "DELETE FROM t WHERE id IN (SELECT CAST(value AS BIGINT) FROM json_array_elements_text($3::json) AS json_each(value))"
        );
        assert_eq!(translate("SELECT \"like\" FROM unlike"), "SELECT \"like\" FROM unlike");
        assert_eq!(
            translate("SELECT 1 FROM a CROSS JOIN b ON b.x = a.x INDEXED BY b_x WHERE e = ?1 COLLATE NOCASE"),
            "SELECT 1 FROM a JOIN b ON b.x = a.x  WHERE e = $1 "
        );
    }
}
