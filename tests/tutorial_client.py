# The tutorial's 客户端 (../shared/seed, section 四.4), unmodified but for its
# address: the test writes the echo server's port in place of 8088.
from socket import *
c=socket(AF_INET,SOCK_STREAM)
c.connect(('127.0.0.1',8088))

while True:
    msg=input('>>: ').strip()
    if not msg:continue
    c.send(msg.encode('utf-8'))
    data=c.recv(1024)
    print(data.decode('utf-8'))
c.close()
