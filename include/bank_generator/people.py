"""Identity attributes of customers: Chinese names, IDs, phones, e-mails, addresses.

Faker is slow per call, so it only fills small pools once (seeded); the columns
are then drawn from the pools with numpy.
"""

from __future__ import annotations

import numpy as np
from faker import Faker

ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
ID_CHECK = np.frombuffer(b"10X98765432", dtype=np.uint8)
USCC_CHARS = np.frombuffer(b"0123456789ABCDEFGHJKLMNPQRTUWXY", dtype=np.uint8)
USCC_WEIGHTS = np.array([pow(3, i, 31) for i in range(17)])
PHONE_PREFIXES = np.array(
    [f"13{i}" for i in range(10)]
    + ["150", "151", "152", "155", "157", "158", "159"]
    + ["176", "177", "180", "181", "186", "187", "188", "189", "198", "199"]
)
EMAIL_DOMAINS = np.array(["qq.com", "163.com", "126.com", "sina.com", "foxmail.com", "outlook.com"])


def _unique(values: list[str]) -> np.ndarray:
    return np.array(list(dict.fromkeys(v.replace("\n", " ") for v in values)))


class Pools:
    """Small seeded Faker pools the columns are drawn from."""

    def __init__(self, seed: int) -> None:
        fake = Faker("zh_CN")
        fake.seed_instance(seed)
        self.surnames = _unique([fake.last_name() for _ in range(400)])
        self.male_names = _unique([fake.first_name_male() for _ in range(600)])
        self.female_names = _unique([fake.first_name_female() for _ in range(600)])
        self.companies = _unique([fake.company() for _ in range(1500)])
        self.streets = _unique([fake.street_name() for _ in range(400)])
        self.districts = _unique([fake.district() for _ in range(150)])
        self.user_names = _unique([fake.user_name() for _ in range(800)])
        self.area_codes = _unique([fake.ssn()[:6] for _ in range(400)])


def _digits(values: np.ndarray, width: int) -> np.ndarray:
    """Integer array -> (n, width) matrix of decimal digits."""
    powers = 10 ** np.arange(width - 1, -1, -1)
    return (values[:, None] // powers) % 10


def _ascii_rows(codes: np.ndarray) -> np.ndarray:
    """(n, w) matrix of ASCII codes -> array of str."""
    codes = np.ascontiguousarray(codes.astype(np.uint8))
    return codes.view(f"S{codes.shape[1]}").ravel().astype(str)


def national_ids(
    rng: np.random.Generator, pools: Pools, birth: np.ndarray, male: np.ndarray
) -> np.ndarray:
    """18-digit resident ID: area, birth date, sequence (odd for men), MOD 11-2 check."""
    n = len(birth)
    area = pools.area_codes[rng.integers(0, len(pools.area_codes), n)].astype(np.int64)
    ymd = birth.astype("datetime64[D]").astype(str)
    ymd = np.char.replace(ymd, "-", "").astype(np.int64)
    seq = rng.integers(0, 500, n) * 2 + male.astype(np.int64)
    digits = np.hstack([_digits(area, 6), _digits(ymd, 8), _digits(seq, 3)])
    check = ID_CHECK[(digits * ID_WEIGHTS).sum(axis=1) % 11]
    return _ascii_rows(np.hstack([digits + 48, check[:, None]]))


def credit_codes(rng: np.random.Generator, pools: Pools, n: int) -> np.ndarray:
    """18-character unified social credit code (GB 32100) with its check character."""
    area = pools.area_codes[rng.integers(0, len(pools.area_codes), n)].astype(np.int64)
    values = np.hstack(
        [
            np.tile([9, 1], (n, 1)),
            _digits(area, 6),
            rng.integers(0, 31, (n, 9)),
        ]
    )
    check = (31 - (values * USCC_WEIGHTS).sum(axis=1) % 31) % 31
    return _ascii_rows(USCC_CHARS[np.hstack([values, check[:, None]])])


def _pick(rng: np.random.Generator, pool: np.ndarray, n: int) -> np.ndarray:
    return pool[rng.integers(0, len(pool), n)]


def phones(rng: np.random.Generator, n: int) -> np.ndarray:
    tail = np.char.zfill(rng.integers(0, 10**8, n).astype(str), 8)
    return np.char.add(_pick(rng, PHONE_PREFIXES, n), tail)


def identities(
    rng: np.random.Generator,
    pools: Pools,
    corporate: np.ndarray,
    birth: np.ndarray,
    male: np.ndarray,
    city: np.ndarray,
) -> dict[str, np.ndarray]:
    """full_name, national_id, phone, email (may be empty), address for each customer."""
    n = len(corporate)
    given = np.where(male, _pick(rng, pools.male_names, n), _pick(rng, pools.female_names, n))
    person = np.char.add(_pick(rng, pools.surnames, n), given)
    company = np.char.add(city, _pick(rng, pools.companies, n))
    full_name = np.where(corporate, company, person)
    national_id = np.where(
        corporate, credit_codes(rng, pools, n), national_ids(rng, pools, birth, male)
    )
    local = np.char.add(_pick(rng, pools.user_names, n), rng.integers(1, 999, n).astype(str))
    email = np.char.add(np.char.add(local, "@"), _pick(rng, EMAIL_DOMAINS, n))
    email = np.where(rng.random(n) < 0.25, "", email)
    address = city
    for part in (
        "市",
        _pick(rng, pools.districts, n),
        "区",
        _pick(rng, pools.streets, n),
        rng.integers(1, 900, n).astype(str),
        "号",
    ):
        address = np.char.add(address, part)
    return {
        "full_name": full_name,
        "national_id": national_id,
        "phone": phones(rng, n),
        "email": email,
        "address": address,
    }
