//! Values on their way to and from PostgreSQL, in rusqlite's vocabulary: a parameter is encoded
//! as the type the server expects, a column is read into one of SQLite's five kinds.

use postgres::types::{FromSql as PgFromSql, IsNull, ToSql as PgToSql, Type};
use rusqlite::types::{ToSqlOutput, Value, ValueRef};
use rusqlite::{Error, Result};

/// A parameter on its way to PostgreSQL: encoded as the type the server expects there, as
/// SQLite would have converted it (an integer into a boolean, a number into text, ...).
#[derive(Debug)]
pub(super) struct PgValue<'a>(ValueRef<'a>);

impl<'a> PgValue<'a> {
    pub(super) fn of(out: &'a ToSqlOutput<'a>) -> Result<PgValue<'a>> {
        match out {
            ToSqlOutput::Borrowed(v) => Ok(PgValue(*v)),
            ToSqlOutput::Owned(v) => Ok(PgValue(ValueRef::from(v))),
            _ => Err(Error::ToSqlConversionFailure("a value PostgreSQL cannot take".into())),
        }
    }
}

type BoxError = Box<dyn std::error::Error + Sync + Send>;

impl PgToSql for PgValue<'_> {
    fn to_sql(&self, ty: &Type, out: &mut bytes::BytesMut) -> Result<IsNull, BoxError> {
        let text = |b: &[u8]| std::str::from_utf8(b).map(str::to_owned);
        match (self.0, ty) {
            (ValueRef::Null, _) => Ok(IsNull::Yes),
            (ValueRef::Integer(i), &Type::INT8) => PgToSql::to_sql(&i, ty, out),
            (ValueRef::Integer(i), &Type::INT4) => PgToSql::to_sql(&i32::try_from(i)?, ty, out),
            (ValueRef::Integer(i), &Type::INT2) => PgToSql::to_sql(&i16::try_from(i)?, ty, out),
            (ValueRef::Integer(i), &Type::BOOL) => PgToSql::to_sql(&(i != 0), ty, out),
            (ValueRef::Integer(i), &Type::FLOAT8) => PgToSql::to_sql(&(i as f64), ty, out),
            (ValueRef::Integer(i), &Type::FLOAT4) => PgToSql::to_sql(&(i as f32), ty, out),
            (ValueRef::Integer(i), &Type::NUMERIC) => {
                encode_numeric(i, out);
                Ok(IsNull::No)
            }
            (ValueRef::Integer(i), _) => PgToSql::to_sql(&i.to_string(), ty, out),
            (ValueRef::Real(f), &Type::FLOAT8) => PgToSql::to_sql(&f, ty, out),
            (ValueRef::Real(f), &Type::FLOAT4) => PgToSql::to_sql(&(f as f32), ty, out),
            (ValueRef::Real(f), _) => PgToSql::to_sql(&f.to_string(), ty, out),
            (ValueRef::Text(t), &Type::INT8) => PgToSql::to_sql(&text(t)?.parse::<i64>()?, ty, out),
            (ValueRef::Text(t), &Type::BYTEA) | (ValueRef::Blob(t), &Type::BYTEA) => PgToSql::to_sql(&t, ty, out),
            (ValueRef::Text(t), _) => PgToSql::to_sql(&text(t)?, ty, out),
            (ValueRef::Blob(b), _) => Err(format!("bytes cannot be sent as {ty} ({} bytes)", b.len()).into()),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    postgres::types::to_sql_checked!();
}

/// An integer in PostgreSQL's binary NUMERIC form: base-10000 digits, most significant first.
fn encode_numeric(i: i64, out: &mut bytes::BytesMut) {
    use bytes::BufMut;
    let mut n = i.unsigned_abs();
    let mut digits = Vec::new();
    while n > 0 {
        digits.push((n % 10_000) as i16);
        n /= 10_000;
    }
    digits.reverse();
    out.put_i16(digits.len() as i16);
    out.put_i16(digits.len() as i16 - 1);
    out.put_u16(if i < 0 { 0x4000 } else { 0 });
    out.put_u16(0);
    for d in digits {
        out.put_i16(d);
    }
}

/// The raw bytes of a column of any type.
struct Raw<'a>(Option<&'a [u8]>);

impl<'a> PgFromSql<'a> for Raw<'a> {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        Ok(Raw(Some(raw)))
    }

    fn from_sql_null(_: &Type) -> Result<Self, BoxError> {
        Ok(Raw(None))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

/// A PostgreSQL column as one of SQLite's kinds of value.
pub(super) fn read_pg(row: &postgres::Row, idx: usize) -> Result<Value> {
    let ty = row.columns().get(idx).ok_or(Error::InvalidColumnIndex(idx))?.type_().clone();
    let conversion = |e: BoxError| Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Null, e);
    let Raw(raw) = row.try_get::<_, Raw>(idx).map_err(|e| conversion(e.into()))?;
    let Some(raw) = raw else { return Ok(Value::Null) };
    let value = match ty {
        Type::INT8 => Value::Integer(i64::from_sql(&ty, raw).map_err(conversion)?),
        Type::INT4 => Value::Integer(i32::from_sql(&ty, raw).map_err(conversion)?.into()),
        Type::INT2 => Value::Integer(i16::from_sql(&ty, raw).map_err(conversion)?.into()),
        Type::OID => Value::Integer(u32::from_sql(&ty, raw).map_err(conversion)?.into()),
        Type::BOOL => Value::Integer(bool::from_sql(&ty, raw).map_err(conversion)?.into()),
        Type::FLOAT8 => Value::Real(f64::from_sql(&ty, raw).map_err(conversion)?),
        Type::FLOAT4 => Value::Real(f32::from_sql(&ty, raw).map_err(conversion)?.into()),
        Type::NUMERIC => decode_numeric(raw).map_err(conversion)?,
        Type::BYTEA => Value::Blob(raw.to_vec()),
        Type::JSONB => Value::Text(String::from_utf8_lossy(raw.get(1..).unwrap_or_default()).into_owned()),
        _ => Value::Text(String::from_utf8(raw.to_vec()).map_err(|e| conversion(e.into()))?),
    };
    Ok(value)
}

/// PostgreSQL's binary NUMERIC (what `sum` of integers gives): an integer when it has no
/// fraction, else a float.
fn decode_numeric(raw: &[u8]) -> Result<Value, BoxError> {
    let word = |i: usize| -> Result<i16, BoxError> {
        let b = raw.get(i * 2..i * 2 + 2).ok_or("a short NUMERIC")?;
        Ok(i16::from_be_bytes([b[0], b[1]]))
    };
    let (ndigits, weight, sign, scale) = (word(0)? as usize, word(1)? as i32, word(2)? as u16, word(3)?);
    if sign == 0xC000 {
        return Ok(Value::Real(f64::NAN));
    }
    let mut value = 0f64;
    for i in 0..ndigits {
        value += f64::from(word(4 + i)?) * 10_000f64.powi(weight - i as i32);
    }
    if sign == 0x4000 {
        value = -value;
    }
    if scale == 0 && value.abs() < 9.0e15 {
        Ok(Value::Integer(value as i64))
    } else {
        Ok(Value::Real(value))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn numeric_integers_round_trip() {
        for i in [0i64, 1, -1, 9_999, 10_000, 123_456_789, -98_765_432_100] {
            let mut out = bytes::BytesMut::new();
            super::encode_numeric(i, &mut out);
            assert_eq!(super::decode_numeric(&out).unwrap(), rusqlite::types::Value::Integer(i), "{i}");
        }
    }
}
