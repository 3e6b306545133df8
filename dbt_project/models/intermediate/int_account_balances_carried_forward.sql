-- One row per account and day the account is open, up to the as-of date, with
-- the end-of-day balance: the delivered one, else the last delivered one carried
-- forward, else 0 (docs/metrics.md "Daily AUM"). An account is open from its opening
-- date to the day before its closing date: the closing day's end-of-day balance
-- is 0, so it has no row here.
with

accounts as (
    select * from {{ ref('stg_core_banking__accounts') }}
),

products as (
    select * from {{ ref('stg_reference__products') }}
),

product_categories as (
    select * from {{ ref('product_categories') }}
),

balances as (
    select * from {{ ref('stg_core_banking__balances') }}
),

calendar as (
    select * from {{ ref('int_calendar_days') }}
),

accounts_classified as (
    select
        accounts.account_id,
        accounts.customer_id,
        accounts.product_code,
        products.product_category,
        -- a product missing from the catalogue is not counted as AUM (tested with warn)
        coalesce(product_categories.is_aum, false) as is_aum,
        accounts.opened_date,
        accounts.closed_date
    from accounts
    left join products
        on accounts.product_code = products.product_code
    left join product_categories
        on products.product_category = product_categories.product_category
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

delivered as (
    select
        account_days.*,
        balances.balance_amount as delivered_balance_amount,
        -- running count of delivered balances: days sharing a count share the
        -- last delivered balance (a portable "last value ignoring nulls")
        count(balances.balance_amount) over (
            partition by account_days.account_id
            order by account_days.balance_date
            rows between unbounded preceding and current row
        ) as balance_group
    from account_days
    left join balances
        on
            account_days.account_id = balances.account_id
            and account_days.balance_date = balances.balance_date
),

final as (
    select
        account_id,
        customer_id,
        product_code,
        product_category,
        is_aum,
        balance_date,
        coalesce(
            max(delivered_balance_amount) over (partition by account_id, balance_group),
            0
        ) as balance_amount,
        delivered_balance_amount is not null as is_balance_delivered
    from delivered
)

select * from final
