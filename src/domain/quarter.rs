//! A calendar quarter, as the quarterly cross-district review names it: `2026-Q4`.

use time::{Date, Month};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Quarter {
    pub year: i32,
    pub number: u8,
}

impl Quarter {
    pub fn parse(s: &str) -> Result<Quarter, String> {
        let bad = || {
            format!(
                "\"{s}\" is not a quarter; quarters look like 2026-Q4 (a year, \"-Q\", and 1 to 4)"
            )
        };
        let (year, q) = s.split_once("-Q").ok_or_else(bad)?;
        let year: i32 = year.parse().map_err(|_| bad())?;
        let number: u8 = q.parse().map_err(|_| bad())?;
        if !(2000..=2999).contains(&year) || !(1..=4).contains(&number) {
            return Err(bad());
        }
        Ok(Quarter { year, number })
    }

    pub fn containing(date: Date) -> Quarter {
        Quarter {
            year: date.year(),
            number: (date.month() as u8 - 1) / 3 + 1,
        }
    }

    /// The first day of the quarter.
    pub fn start(self) -> Date {
        let month = Month::try_from(3 * (self.number - 1) + 1).unwrap_or(Month::January);
        Date::from_calendar_date(self.year, month, 1).unwrap_or(Date::MIN)
    }

    /// The first day after the quarter.
    pub fn end(self) -> Date {
        self.next().start()
    }

    pub fn next(self) -> Quarter {
        if self.number == 4 {
            Quarter {
                year: self.year + 1,
                number: 1,
            }
        } else {
            Quarter {
                year: self.year,
                number: self.number + 1,
            }
        }
    }

    pub fn previous(self) -> Quarter {
        if self.number == 1 {
            Quarter {
                year: self.year - 1,
                number: 4,
            }
        } else {
            Quarter {
                year: self.year,
                number: self.number - 1,
            }
        }
    }
}

impl std::fmt::Display for Quarter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-Q{}", self.year, self.number)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quarters() {
        let q = Quarter::parse("2026-Q4").unwrap();
        assert_eq!(q.to_string(), "2026-Q4");
        assert_eq!(q.start().to_string(), "2026-10-01");
        assert_eq!(q.end().to_string(), "2027-01-01");
        assert_eq!(q.previous().to_string(), "2026-Q3");
        assert_eq!(Quarter::parse("2027-Q1").unwrap().previous(), q);
        for bad in ["2026-Q5", "2026Q4", "Q4-2026", "2026-Q", "", "1999-Q1"] {
            assert!(Quarter::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Quarter::containing(time::macros::date!(2026 - 11 - 25)), q);
    }
}
