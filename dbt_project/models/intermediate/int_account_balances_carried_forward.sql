-- One row per account and day the account is open, up to the as-of date, with
-- the end-of-day balance: the delivered one, else the last delivered one carried
-- forward, else 0 (docs/metrics.md "Daily AUM"). An account is open from its opening
-- date to the day before its closing date: the closing day's end-of-day balance
-- is 0, so it has no row here.
-- A drill-down view for analysts (one account's or customer's days), expanded
-- from int_account_balance_intervals. No model reads it: month figures sum the
-- intervals by overlap, because accounts x days is over a billion rows at a
-- million customers. Select from it only with a filter on account_id.
with

accounts_classified as (
    select * from {{ ref('int_accounts_classified') }}
),

balance_intervals as (
    select * from {{ ref('int_account_balance_intervals') }}
),

calendar as (
    select * from {{ ref('int_calendar_days') }}
),

account_days as (
    select
        accounts_classified.account_id,
        accounts_classified.customer_id,
        accounts_classified.product_code,
        accounts_classified.product_category,
        accounts_classified.is_aum,
        calendar.calendar_date as balance_date
    from accounts_classified
    inner join calendar
        on
            accounts_classified.opened_date <= calendar.calendar_date
            and (
                accounts_classified.closed_date is null
                or accounts_classified.closed_date > calendar.calendar_date
            )
),

final as (
    select
        account_days.account_id,
        account_days.customer_id,
        account_days.product_code,
        account_days.product_category,
        account_days.is_aum,
        account_days.balance_date,
        cast(coalesce(balance_intervals.balance_amount, 0) as decimal(18, 2)) as balance_amount,
        coalesce(balance_intervals.valid_from_date = account_days.balance_date, false)
            as is_balance_delivered
    from account_days
    left join balance_intervals
        on
            account_days.account_id = balance_intervals.account_id
            and balance_intervals.valid_from_date <= account_days.balance_date
            and (
                balance_intervals.valid_to_date is null
                or balance_intervals.valid_to_date > account_days.balance_date
            )
)

select * from final
