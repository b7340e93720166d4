//! Calendar dates in UTC from Unix time, without a date library: the run folders' stamps
//! (`run::store`) and the times the report prints (decoded snowflake timestamps).

/// The UTC date and time of a Unix time in seconds: (year, month, day, seconds into the day).
pub fn civil(secs: i64) -> (i64, i64, i64, i64) {
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day, rem)
}

#[cfg(test)]
mod tests {
    use super::civil;

    #[test]
    fn days_fall_on_their_dates() {
        assert_eq!(civil(0), (1970, 1, 1, 0));
        assert_eq!(civil(1_795_660_000), (2026, 11, 26, 8_800));
        assert_eq!(civil(-1), (1969, 12, 31, 86_399));
        assert_eq!(civil(951_782_400), (2000, 2, 29, 0));
    }
}
