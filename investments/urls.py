from django.urls import path

from . import views

app_name = "investments"

urlpatterns = [
    path("", views.index, name="index"),
    path("funds/<int:fund_id>/", views.fund_detail, name="fund"),
    path("portfolio/", views.portfolio, name="portfolio"),
    path("history/", views.history, name="history"),
    path("deposit/", views.money, {"action": "deposit"}, name="deposit"),
    path("withdraw/", views.money, {"action": "withdraw"}, name="withdraw"),
    path("subscribe/", views.money, {"action": "subscribe"}, name="subscribe"),
    path("redeem/", views.money, {"action": "redeem"}, name="redeem"),
    path("funds/<int:fund_id>/market/", views.market_page, name="market"),
    path("funds/<int:fund_id>/market/book/", views.market_part, {"part": "book"}, name="book"),
    path("funds/<int:fund_id>/market/mine/", views.market_part, {"part": "mine"}, name="mine"),
    path("funds/<int:fund_id>/market/order/", views.place_order, name="order"),
    path("funds/<int:fund_id>/market/order/quote/", views.order_quote, name="order-quote"),
    path("funds/<int:fund_id>/market/cancel/", views.cancel_order, name="cancel"),
]
